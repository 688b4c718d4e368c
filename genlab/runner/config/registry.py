"""Name -> class lookups over the tables each package keeps (``MODELS``, ``DATAMODULES``, ``CALLBACKS``), and
name -> schema lookups that import no torch (``schema``: what composing a config and ``--help`` read)."""

from __future__ import annotations

from datamodules import DATAMODULES
from genlab.core.errors import ConfigError
from lightning_modules import MODELS

_TABLES = {"model": MODELS, "data": DATAMODULES}


def registry(kind: str) -> dict[str, type]:
    """All classes of one kind ("model", "data" or "callback"), keyed by the name configs use; the model and data
    tables import a class when it is looked up."""
    if kind == "callback":
        from genlab.callbacks import CALLBACKS  # Lightning's callbacks: imported when a run builds its own

        return CALLBACKS
    return _TABLES[kind]


def _known(kind: str, name: str) -> dict[str, type]:
    classes = registry(kind)
    if name not in classes:
        raise ConfigError(f"unknown {kind} name {name!r}; available: {', '.join(sorted(classes))}")
    return classes


def lookup(kind: str, name: str) -> type:
    """The class registered under ``name``, or a ConfigError listing the valid names."""
    return _known(kind, name)[name]


def schema(kind: str, name: str) -> type:
    """The config schema of the model or datamodule registered under ``name``, without importing its class."""
    return _known(kind, name).schema(name)


def schemas(kind: str) -> dict[str, type]:
    """Name -> config schema of every model or datamodule, without importing their classes."""
    return _TABLES[kind].schemas()
