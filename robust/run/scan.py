"""A scan: every attack that applies to a bench and a model, over one response store, and one card.

Each attack runs through ``experiment.execute`` into its own sub-folder, exactly the folder
``robust attack`` writes (its own Holm/BH family, its own report); ``scan.json`` lists what ran and
what was left out and why; the robustness card (``card.html``, ``card.md``, ``card.json``) sums the
families up. Which attacks apply is decided by each attack's own declarations (``requires``,
``check``, ``costly``), so an attack registered later (image attacks on image benches) is picked up
without the scan naming it.
"""

from __future__ import annotations

import datetime as _dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import UsageError
from ..items import Item

SCAN_SCHEMA_VERSION = 1


@dataclass
class ScanConfig:
    bench: str = "medqa"
    model: str | None = None  # None: the run's default for the bench (minilm for text, phantom-reader for images)
    data: str | None = None
    mapping: Mapping[str, str] | None = None
    limit: int | None = None
    seed: int = 0
    out: str | None = None
    store: str | None = None
    model_options: Mapping[str, Any] = field(default_factory=dict)
    attacks: Sequence[str] | None = None  # None: every attack that applies and is not costly
    #: per attack name, its flags as ``robust attack`` takes them: {"noise": {"severity": "1,2"}}
    attack_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    noise_floor: int = 0
    command: Sequence[str] = field(default_factory=lambda: list(sys.argv))
    images: Any = None  # robust.imaging ImageOptions (--images, --slice, --pixel-limit), as for `robust attack`
    size: int | None = None  # generated benches: how many items
    executor: str = "local"
    ray_address: str | None = None
    workers: int | None = None


@dataclass
class Scan:
    """A finished scan: one Run per attack family that ran, and the ones left out (with why)."""

    out_dir: Path
    runs: dict[str, Any]  # attack name -> robust.run.experiment.Run
    skipped: dict[str, str]  # attack name -> reason
    record: dict[str, Any]  # scan.json
    card: dict[str, Any]  # card.json

    def assert_robust(self, max_drop: float = 0.05, alpha: float = 0.05, families: Sequence[str] | str | None = None,
                      strict: bool = False) -> None:
        """See robust.testing.assert_scan_robust."""
        from ..testing import assert_scan_robust

        assert_scan_robust(self, max_drop=max_drop, alpha=alpha, families=families, strict=strict)


def not_applicable(attack_cls: Any, items: Sequence[Item], model: Any, *, named: bool) -> str | None:
    """Why an attack does not apply to these items and this model (None: it applies).

    Uses only what the attack declares: ``costly`` (left out unless named), ``requires`` (images,
    options, probabilities, an attacker model) and the attack's own ``check``.
    """
    if getattr(attack_cls, "costly", False) and not named:
        return "costly (many model calls per item): runs only when named in --attacks"
    requires = frozenset(getattr(attack_cls, "requires", frozenset()))
    if "images" in requires and not any(item.images for item in items):
        return "needs images, and this bench has none"
    if "options" in requires:
        few = [item.id for item in items if len(item.options) < 2]
        if few:
            return f"needs multiple-choice items; {few[0]} has fewer than 2 options"
    if "probs" in requires and getattr(model, "gives_probabilities", True) is False:
        return "needs a model that gives option probabilities"
    return None


def _options_for(name: str, config: ScanConfig) -> dict[str, Any]:
    return dict(config.attack_options.get(name, {}))


def build_attack_from_settings(name: str, settings: Mapping[str, Any]) -> Any:
    """An attack built from option settings parsed exactly as ``robust attack --attack NAME`` parses
    its flags (``severity: "1,2"`` means ``--severity 1,2``); a wrong name or value is a usage error."""
    import argparse

    from ..attacks import ATTACKS

    cls = ATTACKS.load(name)

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> Any:  # type: ignore[override]
            raise UsageError(f"attack '{name}': {message}")

    parser = _Parser(prog=f"robust scan --set {name}.OPTION=VALUE", add_help=False)
    cls.add_arguments(parser)
    actions: dict[str, Any] = {}
    for known in parser._actions:
        actions[known.dest] = known
        for option in known.option_strings:
            actions[option.lstrip("-").replace("-", "_")] = known
    argv: list[str] = []
    for key, value in settings.items():
        action = actions.get(str(key).replace("-", "_"))
        if action is None or not action.option_strings:
            valid = ", ".join(sorted({a.option_strings[0].lstrip("-") for a in parser._actions if a.option_strings}))
            raise UsageError(f"attack '{name}' has no option '{key}' (valid: {valid or 'none'})")
        if action.nargs == 0:
            if value not in (False, None, "false", "False", "0", 0):
                argv.append(action.option_strings[0])
            continue
        text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
        argv += [action.option_strings[0], text]
    return cls.from_args(parser.parse_args(argv))


def plan(config: ScanConfig, items: Sequence[Item], model: Any) -> tuple[list[tuple[str, Any]], dict[str, str]]:
    """The attacks to run (name, built attack) and the ones left out with the reason."""
    from ..attacks import ATTACKS

    named = list(dict.fromkeys(config.attacks)) if config.attacks else None
    unknown_options = [name for name in config.attack_options if name not in ATTACKS]
    if unknown_options:
        ATTACKS.entry(unknown_options[0])  # the registry's "did you mean" error
    names = named if named is not None else ATTACKS.names()
    chosen: list[tuple[str, Any]] = []
    skipped: dict[str, str] = {}
    for name in names:
        cls = ATTACKS.load(name)  # unknown names fail here, with the registry's suggestion
        reason = not_applicable(cls, items, model, named=named is not None)
        attack = None
        if reason is None:
            attack = build_attack_from_settings(name, _options_for(name, config))  # bad settings: an error
            try:
                attack.check(items)
            except UsageError as exc:
                reason = str(exc)
        if reason is not None:
            if named is not None:
                raise UsageError(f"attack '{name}' cannot run on bench '{config.bench}' with {model.spec}: {reason}")
            skipped[name] = reason
            continue
        chosen.append((name, attack))
    if not chosen:
        raise UsageError(f"no attack applies to bench '{config.bench}' and model {model.spec}: "
                         + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return chosen, skipped


def execute_scan(config: ScanConfig, *, model: Any = None, progress: Callable[[str], Any] | None = None,
                 notify: Callable[[str], None] | None = None) -> Scan:
    """Run every applicable attack into ``out/<attack>/`` over one store; write scan.json and the card."""
    from ..benches import data_label, data_note, load_bench
    from ..models import load_model
    from .experiment import (RunConfig, _write_json, default_model, driver_options, execute, file_sha256, make_run_dir,
                             versions)

    started = time.time()
    items, data_path, bundled = load_bench(config.bench, config.data, mapping=config.mapping, limit=config.limit,
                                           images=config.images, size=config.size)
    if bundled and notify is not None:
        notify(data_note(config.bench, items, data_path))
    owns_model = model is None
    spec = config.model
    if model is None and spec is None:
        spec, why = default_model(items)
        if notify is not None:
            notify(f"No --model given: using {spec} ({why}).")
    recipe = None
    if model is None:
        from .executors import ModelRecipe

        model = load_model(str(spec), **driver_options(config.model_options, config.executor))
        recipe = ModelRecipe(spec=str(spec), options=dict(config.model_options))  # what Ray workers build
    out_dir = make_run_dir(config.out, config.bench, "scan")
    try:
        chosen, skipped = plan(config, items, model)
        record: dict[str, Any] = {
            "schema_version": SCAN_SCHEMA_VERSION, "kind": "scan", "command": list(config.command),
            "bench": config.bench, "data": str(data_path), "data_sha256": file_sha256(Path(data_path)),
            "bundled_sample": bundled, "data_label": data_label(config.bench) if bundled else None,
            "limit": config.limit, "seed": config.seed, "model": model.spec,
            "fingerprint": dict(model.fingerprint()), "n_items": len(items), "noise_floor": config.noise_floor,
            "attacks": [{"name": name, "folder": name, "status": "pending"} for name, _ in chosen],
            "skipped": [{"name": name, "reason": reason} for name, reason in skipped.items()],
            "versions": versions(),
            "started": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(timespec="seconds"),
            "status": "running",
        }
        _write_json(out_dir / "scan.json", record)
        runs: dict[str, Any] = {}
        for entry, (name, attack) in zip(record["attacks"], chosen):
            run_config = RunConfig(
                bench=config.bench, attack=name, model=model.spec, data=config.data, mapping=config.mapping,
                limit=config.limit, seed=config.seed, out=str(out_dir / name), store=config.store,
                model_options=config.model_options, attack_options=dict(attack.options()),
                noise_floor=config.noise_floor, command=list(config.command), images=config.images,
                size=config.size, executor=config.executor, ray_address=config.ray_address, workers=config.workers)
            try:
                runs[name] = execute(run_config, attack=attack, model=model, progress=progress, recipe=recipe)
            except UsageError as exc:
                if config.attacks:  # named by the user: its failure is the scan's
                    entry["status"] = record["status"] = "failed"
                    _write_json(out_dir / "scan.json", record)
                    raise
                # found out only while running (e.g. no image pairs to mine): left out, with why
                entry["status"] = "skipped"
                record["skipped"].append({"name": name, "reason": str(exc)})
                skipped[name] = str(exc)
                if notify is not None:
                    notify(f"{name}: left out of the scan: {exc}")
                _write_json(out_dir / "scan.json", record)
                continue
            except BaseException:
                entry["status"] = "failed"
                record["status"] = "failed"
                _write_json(out_dir / "scan.json", record)
                raise
            entry["status"] = "complete"
            _write_json(out_dir / "scan.json", record)
    finally:
        close = getattr(model, "close", None)
        if owns_model and callable(close):
            close()
    record["status"] = "complete"
    record["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    record["duration_seconds"] = round(time.time() - started, 3)
    record["counters"] = {
        key: sum(getattr(run.counters, key) for run in runs.values())
        for key in ("model_calls", "cache_hits", "errors")
    }
    _write_json(out_dir / "scan.json", record)
    from ..reports.card import write_card

    card = write_card(out_dir)
    return Scan(out_dir=out_dir, runs=runs, skipped=skipped, record=record, card=card)


def is_scan_dir(path: str | Path) -> bool:
    return (Path(path) / "scan.json").is_file()


__all__ = ["Scan", "ScanConfig", "execute_scan", "is_scan_dir", "not_applicable", "plan"]
