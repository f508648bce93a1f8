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
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Protocol, Sequence

from ..errors import ModelError, UsageError
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
    object itself, when it can be pickled)."""

    spec: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    model: Any = None

    def build(self) -> Any:
        if self.spec is None:
            return self.model
        from ..models import load_model

        options = dict(self.options)
        if self.spec.startswith("openai:"):
            options["preflight"] = False  # the driver checked the endpoint once already
        return load_model(self.spec, **options)


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


def ray_available() -> bool:
    return importlib.util.find_spec("ray") is not None


class RayExecutor:
    """Shards prediction work over a Ray cluster; answers come back to the driver as batches finish."""

    name = "ray"

    def __init__(self, recipe: ModelRecipe, *, address: str | None = None, workers: int | None = None,
                 batch_size: int | None = None) -> None:
        if not ray_available():
            raise UsageError("--executor ray needs Ray: pip install 'robust-medai[ray]'")
        if workers is not None and workers < 1:
            raise UsageError(f"--workers must be at least 1 (got {workers})")
        self.recipe = recipe
        self.address = address
        self.workers = workers
        self.batch_size = batch_size
        self._actors: list[Any] = []
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
        if self.workers is not None:
            return self.workers
        return max(1, int(ray.available_resources().get("CPU", 1)))

    def predict(self, model: Any, items: Sequence[Item]) -> Iterator[tuple[int, Prediction]]:
        ray = self._ray()
        size = self.batch_size or max(1, int(getattr(model, "batch_size", 64)))
        batches = [(start, list(items[start : start + size])) for start in range(0, len(items), size)]
        remote_endpoint = str(self.recipe.spec or getattr(model, "spec", "") or "").startswith("openai:")
        if self.recipe.spec is None and self.recipe.model is None:
            self.recipe = ModelRecipe(model=model)
        recipe_ref = ray.put(self.recipe)
        pending: dict[Any, int] = {}
        if remote_endpoint:
            task = ray.remote(num_cpus=0)(_predict_batch)
            pending = {task.remote(recipe_ref, batch): start for start, batch in batches}
        else:
            if not self._actors:
                actor = ray.remote(num_cpus=1)(_ModelActor)
                self._actors = [actor.remote(recipe_ref) for _ in range(min(self._n_workers(ray), len(batches)))]
            queue = list(batches)
            free = list(self._actors)

            def submit() -> None:
                while queue and free:
                    start, batch = queue.pop(0)
                    handle = free.pop(0)
                    pending[handle.predict.remote(batch)] = start
                    owners[start] = handle

            owners: dict[int, Any] = {}
            submit()
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    start = pending.pop(ref)
                    try:
                        answers = ray.get(ref)
                    except Exception as exc:
                        raise ModelError(f"a Ray worker failed on items {start}..{start + size - 1}: "
                                         f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from None
                    if not remote_endpoint:
                        free.append(owners.pop(start))
                        submit()
                    for index, prediction in answers:
                        yield start + index, prediction
        finally:
            for ref in pending:
                ray.cancel(ref, force=False)

    def close(self) -> None:
        if not self._actors and not self._started_ray:
            return
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
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
