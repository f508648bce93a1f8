"""Text perturbations."""
