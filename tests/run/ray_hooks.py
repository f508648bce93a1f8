"""Test-side instruments for the Ray tests, importable on every Ray worker (the tests put this
folder on the workers' PYTHONPATH).

``count_hf_calls`` is a ``worker_process_setup_hook``: in each worker process it wraps the hf
adapter's ``load`` and ``predict`` so every weights load and every batch scored appends one line
(``load PID`` / ``predict PID N``) to the file named by ``$ROBUST_TEST_HF_LOG``, which the test
reads back. The driver is not a worker, so its own load is not counted.

``crash_on_marker`` is a ``python:`` model whose worker process dies (``os._exit``) on a batch
holding a question with ``CRASH`` in it while the file ``$ROBUST_TEST_CRASH_FLAG`` exists: a real
worker failure, not an exception Ray passes back; remove the file and the same model recovers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any


def _log(line: str) -> None:
    with open(os.environ["ROBUST_TEST_HF_LOG"], "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def count_hf_calls() -> None:
    from robust.models.hf import HFModel

    load, predict = HFModel.load, HFModel.predict

    def counted_load(self: HFModel) -> None:
        if self._model is None:
            _log(f"load {os.getpid()}")
        load(self)

    def counted_predict(self: HFModel, items: Sequence[Any]) -> Iterator[Any]:
        _log(f"predict {os.getpid()} {len(items)}")
        return predict(self, items)

    HFModel.load = counted_load  # type: ignore[method-assign]
    HFModel.predict = counted_predict  # type: ignore[method-assign]


def crash_on_marker(items: Sequence[Any]) -> list[str]:
    if os.path.exists(os.environ["ROBUST_TEST_CRASH_FLAG"]) and any("CRASH" in item.question for item in items):
        os._exit(3)
    return ["A" for _ in items]
