"""Running models over variants: the runner, the response store and whole-run orchestration."""

from .runner import RunCounters, Runner
from .store import ResponseStore, default_store_path

__all__ = ["ResponseStore", "RunCounters", "Runner", "default_store_path"]
