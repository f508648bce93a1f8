"""Image perturbations."""
