"""``ClassTable``: an explicit name -> class table whose classes are imported on first use, while each class's
config schema is at hand without importing it (schemas live in torch-free modules; docs/architecture.md, "Imports
that start fast")."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping


class ClassTable(Mapping):
    """``{name: (Schema, "module:Class")}`` read as ``{name: Class}``: ``table[name]`` imports the class's module
    (torch, Lightning) when a run builds one; ``table.schema(name)`` and ``table.schemas()`` need no import."""

    def __init__(self, entries: dict[str, tuple[type, str]]):
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> type:
        module, _, cls = self._entries[name][1].partition(":")
        return getattr(importlib.import_module(module), cls)

    def __contains__(self, name: object) -> bool:  # Mapping's would import the class
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def schema(self, name: str) -> type:
        return self._entries[name][0]

    def schemas(self) -> dict[str, type]:
        return {name: schema for name, (schema, _) in self._entries.items()}
