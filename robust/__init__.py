"""robust — probe how medical AI models break.

The public API is re-exported here; heavy modules load on first use so ``import robust`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import GateFailed, InputError, ModelError, RobustError, UsageError
from .items import Example, Item, Prediction, Variant

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .run.experiment import Run


def __getattr__(name: str) -> Any:
    # Run lives with the pandas-heavy experiment module; load it only when asked for.
    if name == "Run":
        from .run.experiment import Run

        return Run
    raise AttributeError(f"module 'robust' has no attribute {name!r}")


def attack(bench: str = "medqa", attack: str = "bias", model: Any = None, *, data: str | None = None,
           limit: int | None = None, size: int | None = None, seed: int = 0, out: str | None = None,
           store: str | None = None, **options: Any) -> "Run":
    """Run an attack from Python; ``model`` is a spec string or a Model object (None: minilm for text
    benches, phantom-reader for benches with images). Extra keyword options go to the attack (e.g.
    ``biases="recency,frequency"``, ``mitigation="education"``)."""
    from .run.experiment import RunConfig, build_attack, execute

    spec = model if isinstance(model, str) or model is None else getattr(model, "spec", "custom")
    config = RunConfig(bench=bench, attack=attack, model=spec, data=data, limit=limit, size=size, seed=seed, out=out,
                       store=store, attack_options=options, command=["robust.attack()"])
    attack_obj = build_attack(attack, options)
    model_obj = None if isinstance(model, str) or model is None else model
    return execute(config, attack=attack_obj, model=model_obj)


def scan(bench: str = "medqa", model: Any = "minilm", *, attacks: str | list[str] | None = None,
         data: str | None = None, limit: int | None = None, seed: int = 0, out: str | None = None,
         store: str | None = None, attack_options: dict[str, dict[str, Any]] | None = None,
         noise_floor: int = 0) -> Any:
    """Run every attack that applies (or ``attacks``) and write the robustness card; returns a
    ``robust.run.scan.Scan`` whose ``assert_robust`` checks each attack family."""
    from .run.scan import ScanConfig, execute_scan

    names = [a.strip() for a in attacks.split(",") if a.strip()] if isinstance(attacks, str) else attacks
    config = ScanConfig(bench=bench, model=model if isinstance(model, str) else getattr(model, "spec", "custom"),
                        data=data, limit=limit, seed=seed, out=out, store=store, attacks=names,
                        attack_options=attack_options or {}, noise_floor=noise_floor, command=["robust.scan()"])
    return execute_scan(config, model=None if isinstance(model, str) else model)


__all__ = [
    "Example", "GateFailed", "InputError", "Item", "ModelError", "Prediction", "RobustError", "Run", "UsageError",
    "Variant", "__version__", "attack", "scan",
]
