"""The ``trainer`` config group, derived from the installed ``pytorch_lightning.Trainer``, and its validation.

Every argument of ``Trainer.__init__`` becomes a key under ``trainer.`` with Lightning's own default, so a new
Lightning release brings its new arguments without a hand-kept list. The arguments are read from the source of
``Trainer.__init__`` (``ast``), not from the imported class: composing a config, ``--help`` and ``--cfg`` then cost
no Lightning import (a second or more). Values are checked by Lightning itself when a run starts
(``validate_trainer_args``): a Trainer is constructed (nothing is launched or written) and its errors become
one-line ``ConfigError``s.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import logging
import typing
import warnings
from dataclasses import field, make_dataclass
from pathlib import Path
from typing import Any

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


def trainer_source() -> Path:
    """The file that defines ``pytorch_lightning.Trainer``, found without importing Lightning (``find_spec`` of a
    top-level package imports nothing); ``tests/test_startup.py`` checks what is read from it against the class."""
    spec = importlib.util.find_spec("pytorch_lightning")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("pytorch_lightning is not installed (pip install -e .)")
    return Path(spec.submodule_search_locations[0]) / "trainer" / "trainer.py"


# Annotation names that are a type a command line can give; other names are classes (an ``Accelerator``, a
# ``timedelta``) except Lightning's own aliases (``_PRECISION_INPUT``, ``_LITERAL_WARN``), which are left to it.
_PRIMITIVES = {"bool": bool, "int": int, "float": float, "str": str}
_ANY = None  # a member that makes the whole annotation Any


def _members(node: ast.expr) -> list[Any]:
    """The types an annotation's AST allows: primitives, ``type(None)``, or ``_ANY`` for a list, dict or alias."""
    if isinstance(node, ast.BinOp):  # X | Y
        return _members(node.left) + _members(node.right)
    if isinstance(node, ast.Constant):
        return [type(None)] if node.value is None else _members(ast.Name(id=str(node.value)))
    if isinstance(node, ast.Name):
        if node.id == "None":
            return [type(None)]
        if node.id in ("list", "dict"):
            return [_ANY]
        return [_PRIMITIVES[node.id]] if node.id in _PRIMITIVES else [_ANY] if node.id.startswith("_") else []
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        origin = node.value.id
        if origin == "Literal":
            return [type(a.value) for a in args if isinstance(a, ast.Constant)]
        if origin in ("Optional", "Union"):
            return [m for a in args for m in _members(a)] + ([type(None)] if origin == "Optional" else [])
        return [_ANY] if origin in ("list", "dict", "List", "Dict") else []
    return []


def _config_type(annotation: ast.expr | None) -> Any:
    """The OmegaConf type of a Trainer argument: the primitive part of Lightning's annotation (a command line
    cannot give an ``Accelerator`` or a ``timedelta``), ``Any`` where a list, a dict or one of Lightning's aliases
    is also accepted (``devices``, ``max_time``, ``precision``) so that Lightning, not OmegaConf, judges the value."""
    members = _members(annotation) if annotation is not None else [_ANY]
    if _ANY in members:
        return Any
    kinds = list(dict.fromkeys(m for m in members if m in _PRIMITIVES.values()))
    if not kinds:
        return Any
    kind = kinds[0] if len(kinds) == 1 else typing.Union[tuple(kinds)]  # noqa: UP007 - built at run time
    return kind | None if type(None) in members else kind


@functools.cache
def trainer_fields() -> list[tuple[str, Any, Any]]:
    """``(name, type, field)`` of every ``Trainer.__init__`` argument that a run config may set."""
    tree = ast.parse(trainer_source().read_text())
    trainer = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Trainer")
    init = next(n for n in trainer.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    args = init.args
    positional = args.posonlyargs + args.args
    pairs = [*zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True),
             *((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None)]
    out = []
    for arg, default in pairs:
        if arg.arg not in SET_BY_GENLAB:
            out.append((arg.arg, _config_type(arg.annotation), field(default=ast.literal_eval(default),
                                                                      metadata={"help": _doc_link(arg.arg)})))
    return out


TRAINER_DOCS = "https://lightning.ai/docs/pytorch/stable/common/trainer.html"


def _doc_link(name: str) -> str:
    """Lightning documents every Trainer argument under a heading of its name (Sphinx turns ``_`` into ``-``)."""
    return f"Lightning docs: {TRAINER_DOCS}#{name.replace('_', '-')}"


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
    import pytorch_lightning as pl  # when a run starts: composing a config and --help need no Lightning
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    try:
        with _quiet():
            pl.Trainer(logger=False, callbacks=[], enable_checkpointing=False, **kwargs)
    except (MisconfigurationException, ValueError, TypeError, RuntimeError, ImportError, KeyError) as e:
        # TypeError comes from e.g. devices="abc", ImportError from a strategy or profiler whose package is absent
        reason = " ".join(str(e).split()) or type(e).__name__
        if len(reason) > 300:
            reason = reason[:297] + "..."
        defaults = {name: f.default for name, _, f in trainer_fields()}
        given = " ".join(f"trainer.{k}={v}" for k, v in kwargs.items() if v != defaults.get(k))
        raise ConfigError(f"invalid trainer settings ({given}): {reason}") from None
