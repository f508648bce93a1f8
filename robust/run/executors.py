"""Where predictions are computed: in this process (``local``, the default) or on a Ray cluster.

An executor turns ``(model, items)`` into ``(index, Prediction)`` pairs as they complete; the
runner stays the only writer of the response store and the results, whatever the executor, so a
run started locally resumes on Ray (or the reverse) asking only for what is missing.

Ray (``pip install 'robust-medai[ray]'``, imported only when chosen):

- models that run here (``hf:``, ``minilm``, ``python:`` ...) are loaded once per *actor*, and each
  actor scores batch after batch;
- ``openai:`` endpoints are called from *tasks* (one per batch; each keeps its own connection pool
  and in-flight limit), so the cluster adds concurrency and the driver only stores;
- items travel as they are: images are small recipes (``robust.imaging.refs``: a file path, a
  generator name, a degradation's steps and seed), so the worker degrades next to the model and no
  pixels cross the network (the driver computes each image once too: the store key is a digest of
  the exact pixels).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Protocol, Sequence

from ..errors import UsageError
from ..items import Item, Prediction

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    name: str

    def predict(self, model: Any, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    name = "local"

    def predict(self, model: Any, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        return model.predict(items)  # type: ignore[no-any-return]

    def close(self) -> None:
        pass


@dataclass
class ModelRecipe:
    """How a worker builds the model: its spec and settings (or, from the Python API, the model
    object itself, when it can be pickled), and the driver's working directory, where relative
    paths in them (``hf:./model``, ``python:file.py:fn``, ``--template``, image files) point."""

    spec: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    model: Any = None
    cwd: str = field(default_factory=os.getcwd)

    def build(self) -> Any:
        self.enter_cwd()
        if self.spec is None:
            return self.model
        from ..models import load_model

        options = dict(self.options)
        if self.spec.startswith("openai:"):
            options["preflight"] = False  # the driver checked the endpoint once already
        return load_model(self.spec, **options)

    def enter_cwd(self) -> None:
        """A worker of a cluster started elsewhere (``ray start``) runs in that command's folder:
        move to the driver's, when this node has it (one machine, or a shared filesystem), so
        relative paths mean what they mean on the driver. A node without it keeps its own."""
        try:
            if os.path.isdir(self.cwd) and os.getcwd() != self.cwd:
                os.chdir(self.cwd)
        except OSError:  # this worker's own folder is gone, or the driver's is unreadable here
            pass


def _predict_batch(recipe: ModelRecipe, items: Sequence[Item]) -> list[tuple[int, Prediction]]:
    model = recipe.build()
    try:
        return list(model.predict(items))
    finally:
        close = getattr(model, "close", None)
        if callable(close):
            close()


class _ModelActor:
    """Holds one loaded model (an ``hf:`` checkpoint, say) and scores the batches it is sent."""

    def __init__(self, recipe: ModelRecipe) -> None:
        self.model = recipe.build()

    def predict(self, items: Sequence[Item]) -> list[tuple[int, Prediction]]:
        return list(self.model.predict(items))


class WorkerError(RuntimeError):
    """A Ray worker (actor or task) failed on a batch. Deliberately not a ``RobustError``: the
    runner turns it into its one "model failed after N of M answered ... re-run to resume"
    ``ModelError``, with the count and the store path only it knows."""


def ray_available() -> bool:
    return importlib.util.find_spec("ray") is not None


def _worker_reason(exc: BaseException) -> str:
    """One line for a Ray error: the model's own exception when Ray kept it (``RayTaskError.cause``),
    else the first line of Ray's message and the first sentences of its last (an actor that died,
    and why)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        text, name = str(cause), type(cause).__name__
    else:
        text, name = str(exc), type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return name
    summary = lines[0][:200]
    if len(lines) > 1:
        last = lines[-1][:240]
        if len(lines[-1]) > 240 and ". " in last:
            last = last[: last.rindex(". ") + 1]
        summary += f" ... {last}"
    return f"{name}: {summary}"


def _describe(items: Sequence[Item]) -> str:
    """The batch's item ids, each once (a bench item's variants share its id)."""
    ids = list(dict.fromkeys(str(item.id) for item in items))
    return ", ".join(ids) if len(ids) <= 8 else f"{', '.join(ids[:7])} ... {ids[-1]} ({len(ids)} items)"


class RayExecutor:
    """Shards prediction work over a Ray cluster; answers come back to the driver as batches finish.

    Each actor has ``depth`` batches queued (default 2): while the driver stores one batch's
    answers the actor is already scoring the next, so it never waits on the driver. At most
    ``workers x depth`` batches exist at a time (items are sliced into batches only when sent), so
    memory does not grow with the run. Endpoint tasks are capped at ``workers`` at a time, each
    with its own ``--concurrency``: the endpoint sees at most workers x concurrency requests."""

    name = "ray"

    def __init__(self, recipe: ModelRecipe, *, address: str | None = None, workers: int | None = None,
                 batch_size: int | None = None, depth: int = 2) -> None:
        if not ray_available():
            raise UsageError("--executor ray needs Ray: pip install 'robust-medai[ray]'")
        if workers is not None and workers < 1:
            raise UsageError(f"--workers must be at least 1 (got {workers})")
        if depth < 1:
            raise UsageError(f"the Ray queue depth must be at least 1 (got {depth})")
        self.recipe = recipe
        self.address = address
        self.workers = workers
        self.batch_size = batch_size
        self.depth = depth
        self._actors: list[Any] = []
        self._recipe_ref: Any = None
        self._started_ray = False

    def _ray(self) -> Any:
        import ray

        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         ignore_reinit_error=True)
            except Exception as exc:  # a wrong address, a cluster that is gone
                raise UsageError(f"cannot start or join Ray (--ray-address {self.address or 'local'}): {exc}") from None
            self._started_ray = True
        return ray

    def _n_workers(self, ray: Any) -> int:
        """``--workers``, else one per free CPU of the cluster (fixed at the first call: actors that
        already hold CPUs must not shrink the count of a later call)."""
        if self.workers is None:
            self.workers = max(1, int(ray.available_resources().get("CPU", 1)))
        return self.workers

    def _actors_for(self, ray: Any, wanted: int) -> list[Any]:
        """Actors grow to ``wanted`` as calls need them (a first call of one batch starts one
        actor; the next, larger call adds the rest); each loads the model once, in its own process."""
        if len(self._actors) < wanted:
            actor = ray.remote(num_cpus=1)(_ModelActor)
            self._actors += [actor.remote(self._recipe_ref) for _ in range(wanted - len(self._actors))]
        return self._actors

    def predict(self, model: Any, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        ray = self._ray()
        size = self.batch_size or max(1, int(getattr(model, "batch_size", 64)))
        n_batches = -(-len(items) // size)
        if not n_batches:
            return
        remote_endpoint = str(self.recipe.spec or getattr(model, "spec", "") or "").startswith("openai:")
        if self.recipe.spec is None and self.recipe.model is None:
            self.recipe = ModelRecipe(model=model)
        if self._recipe_ref is None:
            self._recipe_ref = ray.put(self.recipe)  # shipped once, shared by every actor and task
        workers = min(self._n_workers(ray), n_batches)
        if remote_endpoint:
            task = ray.remote(num_cpus=0)(_predict_batch)
            capacity = 1

            def send(slot: int, batch: list[Item]) -> Any:
                return task.remote(self._recipe_ref, batch)
        else:
            actors = self._actors_for(ray, workers)
            workers, capacity = len(actors), self.depth

            def send(slot: int, batch: list[Item]) -> Any:
                return actors[slot].predict.remote(batch)

        died = getattr(getattr(ray, "exceptions", None), "RayActorError", ())  # an actor's process is gone

        def failure(start: int, exc: BaseException) -> str:
            batch = items[start : start + size]
            return f"a Ray worker failed on {len(batch)} requests (items {_describe(batch)}): {_worker_reason(exc)}"

        load = [0] * workers  # batches queued on each actor (or task slot)
        pending: dict[Any, tuple[int, int]] = {}  # ref -> (first index of its batch, slot)
        next_start = 0

        def fill() -> None:
            nonlocal next_start
            while next_start < len(items):
                slot = min(range(workers), key=load.__getitem__)
                if load[slot] >= capacity:
                    return
                pending[send(slot, list(items[next_start : next_start + size]))] = (next_start, slot)
                load[slot] += 1
                next_start += size

        try:
            fill()
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    start, slot = pending.pop(ref)
                    load[slot] -= 1
                    try:
                        answers = ray.get(ref)
                    except Exception as exc:
                        if remote_endpoint or not isinstance(exc, died):
                            raise WorkerError(failure(start, exc)) from None
                        # The actor died: every batch queued on it fails alike, Ray may report a later
                        # one first, and the answer to the batch before the fatal one may be lost with
                        # the process. In the order sent: keep what arrived, name everything lost.
                        mine = sorted([(start, ref)] + [(s, r) for r, (s, o) in pending.items() if o == slot],
                                      key=lambda pair: pair[0])
                        lost: list[Item] = []
                        for first, queued in mine:
                            pending.pop(queued, None)
                            try:
                                finished = ray.get(queued)
                            except Exception:
                                lost += items[first : first + size]
                                continue
                            for index, prediction in finished:
                                yield first + index, prediction
                        raise WorkerError(f"a Ray worker died with {len(lost)} requests unanswered (items "
                                          f"{_describe(lost)}): {_worker_reason(exc)}") from None
                    fill()  # the next batch is queued before the driver stores these answers
                    for index, prediction in answers:
                        yield start + index, prediction
        finally:
            for ref in pending:
                ray.cancel(ref, force=False)

    def close(self) -> None:
        if not self._actors and not self._started_ray:
            return
        ray = self._ray()  # already up: there are actors, or this executor started it
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        self._recipe_ref = None
        if self._started_ray and self.address is None:
            ray.shutdown()  # a local Ray this run started; a cluster it joined keeps running


def make_executor(name: str, *, recipe: ModelRecipe, address: str | None = None,
                  workers: int | None = None) -> Executor:
    if name == "local":
        if address is not None or workers is not None:
            raise UsageError("--ray-address and --workers go with --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(recipe, address=address, workers=workers)
    raise UsageError(f"unknown executor '{name}'; valid: {', '.join(EXECUTORS)}")
