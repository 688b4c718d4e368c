"""Name -> class lookups over the tables each package keeps (``MODELS``, ``DATAMODULES``, ``CALLBACKS``)."""

from __future__ import annotations

from datamodules import DATAMODULES
from genlab.callbacks import CALLBACKS
from genlab.core.errors import ConfigError
from lightning_modules import MODELS

_TABLES = {"model": MODELS, "data": DATAMODULES, "callback": CALLBACKS}


def registry(kind: str) -> dict[str, type]:
    """All classes of one kind ("model", "data" or "callback"), keyed by the name configs use."""
    return _TABLES[kind]


def lookup(kind: str, name: str) -> type:
    """The class registered under ``name``, or a ConfigError listing the valid names."""
    classes = registry(kind)
    if name not in classes:
        raise ConfigError(f"unknown {kind} name {name!r}; available: {', '.join(sorted(classes))}")
    return classes[name]
