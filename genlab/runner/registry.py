"""Name -> class registries, filled by discovering the classes in ``lightning_modules``, ``datamodules``
and ``genlab.callbacks``.

A class joins a registry by defining a class attribute ``name`` (the string configs use) and, for models
and datamodules, ``Config`` (its dataclass schema). Discovery means adding a model is adding a file: no
central list to edit.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from genlab.core.errors import ConfigError

_PACKAGES = {
    "model": "lightning_modules",
    "data": "datamodules",
    "callback": "genlab.callbacks",
}
_BASES = {
    "model": ("pytorch_lightning", "LightningModule"),
    "data": ("pytorch_lightning", "LightningDataModule"),
    "callback": ("pytorch_lightning", "Callback"),
}


@cache
def registry(kind: str) -> dict[str, type]:
    """All registered classes of one kind ("model", "data" or "callback"), keyed by their ``name``."""
    package = importlib.import_module(_PACKAGES[kind])
    module_name, base_name = _BASES[kind]
    base = getattr(importlib.import_module(module_name), base_name)
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            name = obj.__dict__.get("name")
            if issubclass(obj, base) and isinstance(name, str) and obj.__module__ == module.__name__:
                if name in found and found[name] is not obj:
                    raise RuntimeError(f"two {kind} classes are registered as {name!r}: {found[name]} and {obj}")
                found[name] = obj
    return found


def lookup(kind: str, name: str) -> type:
    """The class registered under ``name``, or a ConfigError listing the valid names."""
    classes = registry(kind)
    if name not in classes:
        raise ConfigError(f"unknown {kind} name {name!r}; available: {', '.join(sorted(classes))}")
    return classes[name]
