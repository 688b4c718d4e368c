"""``scripts/train.py --help [GROUP ...] [experiment=NAME overrides]``: every key with its value, type, default and
one-line description, grouped, wrapped to the terminal. The descriptions are the schemas' field metadata
(``genlab.core.schema.described``); a Trainer key's is the link to Lightning's own documentation of it."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
import types
import typing
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf

from genlab.core.errors import ConfigError
from genlab.runner.config import registry
from genlab.runner.config.groups import DEFAULT_CHOICES, FIXED_GROUPS, GROUPS, OPEN_GROUPS, TopLevelConfig
from genlab.runner.config.load import CONFIG_DIR, _options, compose, list_experiments

NO_HELP = "(no description)"  # tests/test_help.py fails while any key shows this


def type_name(kind: Any) -> str:
    """``int | None`` for the annotations a schema may hold: a string (``from __future__ import annotations``) or
    a type built at run time (the Trainer's)."""
    if isinstance(kind, str):
        return kind
    if kind is Any:
        return "any"
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return " | ".join(type_name(k) for k in typing.get_args(kind))
    return "None" if kind is type(None) else getattr(kind, "__name__", str(kind))


@dataclasses.dataclass
class Key:
    name: str
    value: Any
    kind: str
    default: Any
    help: str


def schema_keys(schema: type, prefix: str, values: dict | None = None, skip: tuple[str, ...] = ()) -> list[Key]:
    """Every key of ``schema`` under ``prefix`` (nested schemas flattened), with ``values`` where given."""
    defaults = OmegaConf.to_container(OmegaConf.structured(schema))
    values = values or defaults
    out = []
    for f in dataclasses.fields(schema):
        nested = _nested_schema(schema, f.name) if isinstance(defaults[f.name], dict) else None
        if nested:
            out += schema_keys(nested, f"{prefix}{f.name}.", values.get(f.name))
        elif f.name not in skip:
            out.append(Key(prefix + f.name, values.get(f.name, defaults[f.name]), type_name(f.type),
                           defaults[f.name], f.metadata.get("help", NO_HELP)))
    return out


def _nested_schema(schema: type, name: str) -> type | None:
    """The dataclass of a nested field (``eval.classifier``), or None for a plain mapping (``callbacks.options``)."""
    hints = typing.get_type_hints(schema)
    return hints[name] if dataclasses.is_dataclass(hints.get(name)) else None


def _width() -> int:
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def key_line(key: Key, width: int) -> str:
    """``  group.key=value (type[, default D]): description``, wrapped; ``key=value`` is never split."""
    default = "" if key.value == key.default else f", default {key.default!r}"
    value = f"={key.value!r}" if key.value != MISSING else ""
    head = f"{key.name}{value} ({key.kind}{default}):".replace(" ", "\0")
    text = textwrap.fill(f"{head} {key.help}", width, initial_indent="  ", subsequent_indent=" " * 6,
                         break_on_hyphens=False, break_long_words=False)
    return text.replace("\0", " ")


def _group_schemas(group: str, cfg) -> dict[str, tuple[type, dict | None]]:
    """label -> (schema, values): the composed run's, or every schema the group can take with its defaults."""
    if cfg is not None:
        name = cfg[group].get("name") if group in OPEN_GROUPS else None
        schema = registry.schema(OPEN_GROUPS[group], name) if name else FIXED_GROUPS[group]
        return {cfg.choices[group]: (schema, OmegaConf.to_container(cfg[group], resolve=True))}
    if group in FIXED_GROUPS:
        return {DEFAULT_CHOICES[group]: (FIXED_GROUPS[group], None)}
    return {name: (schema, None) for name, schema in sorted(registry.schemas(OPEN_GROUPS[group]).items())}


def group_lines(group: str, cfg, config_dir: Path, width: int) -> list[str]:
    options = ", ".join(_options(group, config_dir))
    if cfg is not None:
        lines = [textwrap.fill(f"{group}: {cfg.choices[group]} (other options: {options})", width)]
    else:
        lines = [textwrap.fill(f"{group} (choose with {group}=OPTION): {options}", width)]
    for label, (schema, values) in _group_schemas(group, cfg).items():
        if cfg is None and group in OPEN_GROUPS:
            lines.append(f" [{group}.name={label}]")
        skip = ("name",) if group in OPEN_GROUPS else ()  # the option chosen, shown above
        lines += [key_line(k, width) for k in schema_keys(schema, f"{group}.", values, skip)]
    return lines


def describe(args: list[str] | None = None, usage: str = "", config_dir: Path = CONFIG_DIR) -> str:
    """The ``--help`` text. Plain words in ``args`` choose groups (``top`` for the keys outside groups); with
    ``experiment=NAME`` (and overrides) every key shows the value that run would use, else its schema default."""
    args = [a for a in args or [] if not a.startswith("-")]
    chosen = [a for a in args if "=" not in a]
    unknown = [g for g in chosen if g not in ("top", *GROUPS)]
    if unknown:
        raise ConfigError(f"--help {unknown[0]}: not a config group; groups: top, {', '.join(GROUPS)}")
    cfg = compose([a for a in args if "=" in a], config_dir) if any(a.startswith("experiment=") for a in args) \
        else None
    width = _width()
    lines = [] if chosen else [usage.rstrip(), ""] if usage else []
    if cfg is not None:
        lines += [textwrap.fill(f"experiment {cfg.experiment}: the values this run would use; change any with "
                                "group.key=value (--cfg prints them as YAML and exits)", width)]
    elif not chosen:
        lines += [textwrap.fill("experiments: " + ", ".join(list_experiments(config_dir)), width,
                                subsequent_indent="  "),
                  textwrap.fill("add experiment=NAME to --help for the values that experiment uses, and a group "
                                "name (e.g. --help model) for one group; --cfg prints a run's config as YAML", width)]
    if not chosen or "top" in chosen:
        top = None if cfg is None else {f.name: cfg[f.name] for f in dataclasses.fields(TopLevelConfig)}
        lines += ["", "top-level keys:", *(key_line(k, width) for k in schema_keys(TopLevelConfig, "", top))]
    for group in GROUPS:
        if not chosen or group in chosen:
            lines += ["", *group_lines(group, cfg, config_dir, width)]
    return "\n".join(lines).strip("\n")
