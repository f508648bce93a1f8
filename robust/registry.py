"""One typed registry for benches, models and attacks.

Entries are lazy ``"module:attr"`` strings so listing names never imports a heavy backend;
third parties add entries through the entry-point groups ``robust.benches``,
``robust.models`` and ``robust.attacks``.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Generic, Iterator, TypeVar

from .errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "package.module:attribute"
    summary: str


class Registry(Generic[T]):
    """Maps names to lazily imported objects; unknown names get a "did you mean"."""

    def __init__(self, kind: str, entry_point_group: str, plural: str | None = None) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self.entry_point_group = entry_point_group
        self._entries: dict[str, Entry] = {}
        self._loaded_entry_points = False

    def add(self, name: str, target: str, summary: str) -> None:
        self._entries[name] = Entry(name, target, summary)

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        self._loaded_entry_points = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._entries:
                self._entries[ep.name] = Entry(ep.name, ep.value, f"(plugin from {ep.value})")

    def entries(self) -> list[Entry]:
        self._load_entry_points()
        return sorted(self._entries.values(), key=lambda e: e.name)

    def names(self) -> list[str]:
        return [e.name for e in self.entries()]

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def entry(self, name: str) -> Entry:
        self._load_entry_points()
        if name not in self._entries:
            names = self.names()
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"unknown {self.kind} '{name}'.{hint} Valid {self.plural}: {', '.join(names)}")
        return self._entries[name]

    def load(self, name: str) -> T:
        target = self.entry(name).target
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        obj: T = getattr(module, attribute)
        return obj
