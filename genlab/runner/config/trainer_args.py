"""The ``trainer`` config group, derived from the installed ``pytorch_lightning.Trainer``, and its validation.

Every argument of ``Trainer.__init__`` becomes a key under ``trainer.`` with Lightning's own default, so a new
Lightning release brings its new arguments without a hand-kept list. Values are checked by Lightning itself: a
Trainer is constructed (nothing is launched or written) and its errors become one-line ``ConfigError``s.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import types
import typing
import warnings
from dataclasses import field, make_dataclass
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.utilities.exceptions import MisconfigurationException

from genlab.core.errors import ConfigError

# Arguments genlab sets itself for every run, so a value given under trainer.* could only conflict with it.
SET_BY_GENLAB = {
    "logger": "genlab makes the W&B logger (configure it under logger.*)",
    "callbacks": "genlab adds checkpointing and the picture callbacks (configure them under callbacks.*)",
    "default_root_dir": "the run folder is run_dir",
    "enable_checkpointing": "every run keeps last.ckpt so it can be resumed (tune it under callbacks.*)",
    "barebones": "it switches off the logger and checkpointing every genlab run has",
    "plugins": "plugins are Python objects, which a command line cannot give",
}

_PRIMITIVES = (bool, int, float, str)


def _config_type(annotation: Any) -> Any:
    """The OmegaConf type of a Trainer argument: the primitive part of Lightning's annotation (a command line
    cannot give an ``Accelerator`` or a ``timedelta``), ``Any`` where a list or dict is also accepted (``devices``,
    ``max_time``) so that Lightning, not OmegaConf, judges the value."""
    members = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)
    kinds: list[type] = []
    for member in members:
        if typing.get_origin(member) is typing.Literal:
            candidates = [type(v) for v in typing.get_args(member)]
        elif typing.get_origin(member) in (list, dict) or member in (list, dict):
            return Any
        else:
            candidates = [member]
        kinds += [k for k in candidates if k in _PRIMITIVES and k not in kinds]
    if not kinds:
        return Any
    optional = type(None) in members
    kind = kinds[0] if len(kinds) == 1 else typing.Union[tuple(kinds)]  # noqa: UP007 - built at run time
    return kind | None if optional else kind


def trainer_fields() -> list[tuple[str, Any, Any]]:
    """``(name, type, field)`` of every ``Trainer.__init__`` argument that a run config may set."""
    out = []
    for name, param in inspect.signature(pl.Trainer.__init__).parameters.items():
        if name != "self" and name not in SET_BY_GENLAB and param.kind is not param.VAR_KEYWORD:
            out.append((name, _config_type(param.annotation), field(default=param.default)))
    return out


_DEFAULTS = {name: f.default for name, _, f in trainer_fields()}


def derive_trainer_config(base: type) -> type:
    """The ``TrainerConfig`` dataclass: one field per Trainer argument, Lightning's defaults, ``base``'s checks."""
    cls = make_dataclass("TrainerConfig", trainer_fields(), bases=(base,))
    cls.__module__ = base.__module__
    return cls


def refuse_genlab_keys(keys: list[str]) -> None:
    """One line for ``trainer.<key>`` overrides of an argument that genlab sets itself."""
    for key in keys:
        reason = SET_BY_GENLAB.get(key.split(".")[0])
        if reason:
            raise ConfigError(f"trainer.{key} cannot be set: {reason}")


@contextlib.contextmanager
def _quiet():
    """Lightning reports the devices it found when a Trainer is made; the real Trainer says it again later."""
    names = ("pytorch_lightning", "lightning_fabric", "lightning.pytorch", "lightning.fabric")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def validate_trainer_args(kwargs: dict[str, Any]) -> None:
    """Construct a Trainer from ``kwargs`` (without logger or callbacks: nothing is written, no process starts),
    so Lightning's own checks of accelerator, devices, strategy, precision, max_time, limits... run before the
    run does; its error becomes one ConfigError line naming the trainer keys given."""
    try:
        with _quiet():
            pl.Trainer(logger=False, callbacks=[], enable_checkpointing=False, **kwargs)
    except (MisconfigurationException, ValueError, TypeError, RuntimeError, ImportError, KeyError) as e:
        # TypeError comes from e.g. devices="abc", ImportError from a strategy or profiler whose package is absent
        reason = " ".join(str(e).split()) or type(e).__name__
        if len(reason) > 300:
            reason = reason[:297] + "..."
        given = " ".join(f"trainer.{k}={v}" for k, v in kwargs.items() if v != _DEFAULTS.get(k))
        raise ConfigError(f"invalid trainer settings ({given}): {reason}") from None
