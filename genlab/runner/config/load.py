"""Compose a run config: group schema <- ``configs/<group>/<choice>.yaml`` <- experiment <- command line.

The one config-load point of the project. Every failure becomes a one-line ``ConfigError``.
"""

from __future__ import annotations

import difflib
import functools
import math
import tempfile
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from genlab.core.compat import is_string_field
from genlab.core.errors import ConfigError, GenlabError
from genlab.runner.cli import refuse_repeated
from genlab.runner.config import registry
from genlab.runner.config.groups import (
    DEFAULT_CHOICES,
    FIXED_GROUPS,
    GROUPS,
    OPEN_GROUPS,
    OPEN_MAPPINGS,
    TOP_DEFAULTS,
    TOP_LEVEL,
)
from genlab.runner.config.trainer_args import refuse_genlab_keys

CONFIG_DIR = Path(__file__).resolve().parents[3] / "configs"


def list_experiments(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.stem for p in (config_dir / "experiment").glob("*.yaml"))


def _options(group: str, config_dir: Path) -> list[str]:
    return sorted(p.stem for p in (config_dir / group).glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys to values")
    return data


def _parse_args(args: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Split ``key=value`` arguments into top-level keys, group choices and group dotlist overrides (each key
    given once)."""
    refuse_repeated(args)
    top, choices, dotlist = {}, {}, []
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise ConfigError(f"argument {arg!r} is not of the form key=value (try --help)")
        if key in TOP_LEVEL:
            top[key] = value
        elif key in GROUPS:
            choices[key] = value
        elif key.split(".")[0] in GROUPS:
            dotlist.append(arg)
        else:
            raise ConfigError(_unknown_key_message(key.split(".")[0], [*TOP_LEVEL, *GROUPS]))
    return top, choices, dotlist


def _unknown_key_message(full_key: str, valid: list[str], prefix: str = "") -> str:
    leaf = full_key.split(".")[-1]
    close = difflib.get_close_matches(leaf, valid, n=1)
    hint = f"did you mean {prefix + close[0]!r}? " if close else ""
    where = f" under {prefix.rstrip('.')}" if prefix else ""
    return f"unknown config key {full_key!r}; {hint}valid keys{where}: {', '.join(valid)}"


def _explain(exc: OmegaConfBaseException, group: str, node: DictConfig) -> ConfigError:
    """Turn an OmegaConf merge error into one line naming the full key and what was expected."""
    key = getattr(exc, "full_key", None) or getattr(exc, "key", None) or "?"
    full_key = f"{group}.{key}" if not str(key).startswith(group + ".") else str(key)
    parent_path = full_key.rsplit(".", 1)[0]
    parent = OmegaConf.select(node, parent_path.partition(".")[2]) if "." in parent_path[len(group):] else node
    if type(exc).__name__ in ("ConfigKeyError", "ConfigAttributeError") and isinstance(parent, DictConfig):
        return ConfigError(_unknown_key_message(full_key, list(parent.keys()), prefix=parent_path + "."))
    first = str(exc).splitlines()[0]
    return ConfigError(f"{full_key}: {first}")


def _is_string_field(node: DictConfig, key: str) -> bool:
    parent, leaf = node, key.split(".")[-1]
    for part in key.split(".")[:-1]:
        parent = parent.get(part) if isinstance(parent, DictConfig) and part in parent else None
    return isinstance(parent, DictConfig) and leaf in parent and is_string_field(parent, leaf)


def _parse_dotlist(node: DictConfig, items: list[str]) -> DictConfig:
    """Like ``OmegaConf.from_dotlist``, except that a string field takes the text as written: YAML would read
    ``name=1e3`` as a float and ``group=007`` as the integer 7."""
    parsed = OmegaConf.from_dotlist(items)
    for item in items:
        key, _, raw = item.partition("=")
        quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\""
        if raw not in ("null", "~") and not quoted and _is_string_field(node, key):
            OmegaConf.update(parsed, key, raw)
    return parsed


def _schema_for(group: str, name: str | None) -> type:
    if group in FIXED_GROUPS:
        return FIXED_GROUPS[group]
    if not name:
        raise ConfigError(f"the {group} config has no 'name' (the registered {group} class to use)")
    return registry.schema(OPEN_GROUPS[group], name)


def chosen_name(group: str, layers: list[dict], dotlist: list[str]) -> str | None:
    """The ``name`` the group's layers and ``group.name=`` overrides choose (the last one given wins): it picks the
    schema the layers are then merged into."""
    name = None
    for layer in layers:
        name = layer.get("name", name)
    for item in dotlist:
        key, _, value = item.partition("=")
        if key == f"{group}.name":
            name = value
    return name


@functools.cache
def _schema_node(schema: type, open_keys: tuple[str, ...]) -> DictConfig:
    """The schema as a struct DictConfig (unknown keys refused), made once per schema: ``OmegaConf.structured``
    is the costliest step of composing, and ``check_sweep.py`` composes dozens of configs. Merges copy it."""
    node = OmegaConf.structured(schema)
    OmegaConf.set_struct(node, True)
    for key in open_keys:  # name -> options of classes that check them themselves
        OmegaConf.set_struct(node[key], False)
    return node


def _build_group(group: str, layers: list[dict], dotlist: list[str]) -> DictConfig:
    if group == "trainer":
        refuse_genlab_keys([*(k for layer in layers for k in layer), *(d.partition("=")[0][len("trainer."):]
                                                                         for d in dotlist)])
    node = _schema_node(_schema_for(group, chosen_name(group, layers, dotlist)), OPEN_MAPPINGS.get(group, ()))
    try:
        node = OmegaConf.merge(node, *layers)
        if dotlist:
            node = OmegaConf.merge(node, _parse_dotlist(node, [d.partition(".")[2] for d in dotlist]))
    except OmegaConfBaseException as e:
        raise _explain(e, group, node) from None
    except yaml.YAMLError as e:  # a value OmegaConf hands to YAML and YAML cannot read
        raise ConfigError(f"{group}: {' '.join(dotlist)}: not valid YAML ({str(e).splitlines()[0]}); quote "
                          "values that hold YAML's special characters") from None
    except TypeError:  # OmegaConf's own error for a list where a mapping goes, or the reverse
        given = " ".join(dotlist) or f"configs/{group}/*.yaml or the experiment file"
        raise ConfigError(f"{group}: a list where a mapping goes, or a mapping where a list goes, in {given}; "
                          "see --help for each key's kind") from None
    return node


def typed(node: DictConfig, group: str = "") -> Any:
    """The dataclass instance of a group's config; runs its range checks."""
    try:
        return OmegaConf.to_object(node)
    except ConfigError as e:
        raise ConfigError(f"{group}.{e}" if group else str(e)) from None
    except OmegaConfBaseException as e:
        raise _explain(e, group, node) from None


SEED_RANGE = (0, 2**32 - 1)  # what Lightning's seed_everything (NumPy's generator) accepts


def _check_batches(model_name: str | None, data_name: str | None) -> None:
    """The model can read the data's batches (checked before the groups' keys, which differ between such data)."""
    if not model_name or not data_name:
        return  # the group's own error names what is missing
    model, data = registry.schema("model", model_name), registry.schema("data", data_name)
    if model.batches != data.batches:
        raise ConfigError(f"model {model_name!r} trains on {model.batches} but data {data_name!r} gives "
                          f"{data.batches}; pick a matching data=OPTION or experiment")


def _check_parts_fit(cfg: DictConfig) -> None:
    """The model can read the data's batches, and ``callbacks.monitor`` names a metric the model logs."""
    _check_batches(cfg.model.name, cfg.data.name)
    metrics = registry.schema("model", cfg.model.name).validation_metrics
    monitor = cfg.callbacks.monitor
    if monitor is not None and monitor not in metrics:
        logged = ", ".join(metrics) or "none (it has no validation)"
        raise ConfigError(f"callbacks.monitor={monitor!r}: model {cfg.model.name!r} never logs it; its validation "
                          f"metrics: {logged} (or callbacks.monitor=null: keep the latest checkpoints only)")


def _check_max_batches(cfg: DictConfig) -> None:
    """``max_batches`` is an integer >= -1, and not given beside ``trainer.max_steps`` (two limits of one run)."""
    try:
        cfg.max_batches = int(cfg.max_batches)
    except (TypeError, ValueError):
        raise ConfigError(f"max_batches={cfg.max_batches!r}: must be an integer") from None
    if cfg.max_batches < -1 or cfg.max_batches == 0:
        raise ConfigError(f"max_batches={cfg.max_batches}: must be >= 1 (or -1: no limit)")
    if cfg.max_batches > 0 and cfg.trainer.max_steps != -1:
        raise ConfigError(f"max_batches={cfg.max_batches} and trainer.max_steps={cfg.trainer.max_steps}: give one "
                          "limit (max_batches counts batches, trainer.max_steps Lightning's optimizer steps)")


def check_writable_folder(path: Path, key: str) -> None:
    """``path`` is a folder or can become one, and its nearest existing folder takes new files (tried with a
    temporary file that is removed at once: permission bits say nothing for root or read-only mounts)."""
    path = path.expanduser().absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(f"{key}={path}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise ConfigError(f"{key}={path}: cannot write in {existing} ({e.strerror or e})") from None
def non_finite_keys(values: Any, prefix: str) -> list[str]:
    """Dotted keys under ``prefix`` whose value is a float NaN or infinity (``model.lr=inf``)."""
    if isinstance(values, dict):
        return [k for key, v in values.items() for k in non_finite_keys(v, f"{prefix}.{key}")]
    if isinstance(values, list):
        return [k for i, v in enumerate(values) for k in non_finite_keys(v, f"{prefix}.{i}")]
    return [prefix] if isinstance(values, float) and not math.isfinite(values) else []


def _finish(top: dict[str, Any], groups: dict[str, DictConfig]) -> DictConfig:
    cfg = OmegaConf.create({**top, **groups})
    for group in GROUPS:
        typed(cfg[group], group)
        bad = non_finite_keys(OmegaConf.to_container(cfg[group], resolve=True), group)
        if bad:
            raise ConfigError(f"{bad[0]}={OmegaConf.select(cfg, bad[0])}: must be a finite number")
    try:
        cfg.seed = int(cfg.seed)
    except (TypeError, ValueError):
        raise ConfigError(f"seed={cfg.seed!r}: must be an integer") from None
    if not SEED_RANGE[0] <= cfg.seed <= SEED_RANGE[1]:
        raise ConfigError(f"seed={cfg.seed}: must be in [{SEED_RANGE[0]}, {SEED_RANGE[1]}] (NumPy's seed range)")
    _check_max_batches(cfg)
    _check_parts_fit(cfg)
    check_writable_folder(Path(cfg.run_dir or "runs"), "run_dir")
    OmegaConf.set_struct(cfg, True)
    return cfg


def compose(args: list[str], config_dir: Path = CONFIG_DIR) -> DictConfig:
    """Build the run config from command-line style ``key=value`` arguments (``experiment=`` required)."""
    try:
        return _compose(args, config_dir)
    except ConfigError as e:
        raise ConfigError(f"{e}{_sweep_hint(args, str(e))}") from None


def _sweep_hint(args: list[str], message: str) -> str:
    """For ``seed=1,2`` without ``--multirun``: the refused key's value is a comma-separated list of values."""
    for key, _, value in (a.partition("=") for a in args):
        if "," in value and key in message and not value.lstrip().startswith(("[", "{", "'", '"')):
            return f" ({key}={value}: several values? sweep them with scripts/train.py --multirun)"
    return ""


def _compose(args: list[str], config_dir: Path) -> DictConfig:
    top, cli_choices, dotlist = _parse_args(args)
    experiments = list_experiments(config_dir)
    name = top.get("experiment")
    if not name:
        raise ConfigError(f"no experiment given; pass experiment=NAME, one of: {', '.join(experiments)}")
    if name not in experiments:
        raise ConfigError(f"unknown experiment {name!r}; available: {', '.join(experiments)}")
    exp = _read_yaml(config_dir / "experiment" / f"{name}.yaml")
    choices = {**DEFAULT_CHOICES, **exp.pop("defaults", {}), **cli_choices}
    unknown = set(exp) - set(GROUPS) - set(TOP_LEVEL)
    if unknown:
        raise ConfigError(f"experiment {name!r} has unknown top-level keys {sorted(unknown)}; valid: "
                          f"{', '.join([*TOP_LEVEL, *GROUPS])}")
    layers = {}
    for group in GROUPS:
        choice = choices.get(group)
        if choice is None:
            raise ConfigError(f"experiment {name!r} chooses no {group}; set defaults.{group} in it or pass "
                              f"{group}=OPTION, one of: {', '.join(_options(group, config_dir))}")
        path = config_dir / group / f"{choice}.yaml"
        if not path.exists():
            raise ConfigError(f"unknown {group} option {choice!r}; available: "
                              f"{', '.join(_options(group, config_dir))}")
        layers[group] = [_read_yaml(path), exp.get(group) or {}]
    own = {group: [d for d in dotlist if d.split(".")[0] == group] for group in GROUPS}
    _check_batches(*(chosen_name(g, layers[g], own[g]) for g in ("model", "data")))
    groups = {group: _build_group(group, layers[group], own[group]) for group in GROUPS}
    top_values = {"experiment": name, **TOP_DEFAULTS}
    top_values.update({k: v for k, v in exp.items() if k in TOP_LEVEL})
    top_values.update(top)
    cfg = _finish(top_values, groups)
    cfg_choices = {g: choices[g] for g in GROUPS}
    OmegaConf.set_struct(cfg, False)
    cfg.choices = cfg_choices
    OmegaConf.set_struct(cfg, True)
    return cfg


# runs saved before data.value_range became a list spelled it as text; their checkpoints still resume and evaluate
_SAVED_VALUE_RANGES = {"0_1": [0.0, 1.0], "-1_1": [-1.0, 1.0]}


def compose_from_saved(saved: dict, args: list[str]) -> DictConfig:
    """Rebuild a config saved with a run (``config.yaml`` or a checkpoint) and apply overrides to it."""
    top, cli_choices, dotlist = _parse_args(args)
    if cli_choices:
        raise ConfigError(f"cannot switch {', '.join(cli_choices)} of a saved run; override single keys instead")
    groups = {}
    for group in GROUPS:
        section = dict(saved.get(group) or {})
        if group == "data" and str(section.get("value_range")) in _SAVED_VALUE_RANGES:
            section["value_range"] = _SAVED_VALUE_RANGES[str(section["value_range"])]
        groups[group] = _build_group(group, [section], [d for d in dotlist if d.split(".")[0] == group])
    # the saved run_dir names the folder the run was written in, not where its checkpoint is now
    top_values = {k: None if k == "run_dir" else saved.get(k, TOP_DEFAULTS.get(k)) for k in TOP_LEVEL}
    top_values.update(top)
    cfg = _finish(top_values, groups)
    OmegaConf.set_struct(cfg, False)
    cfg.choices = saved.get("choices", {})
    OmegaConf.set_struct(cfg, True)
    return cfg


def _keep_env_references(raw: Any, resolved: Any) -> Any:
    if isinstance(raw, dict):
        return {k: _keep_env_references(raw[k], resolved[k]) for k in raw}
    if isinstance(raw, list):
        return [_keep_env_references(r, v) for r, v in zip(raw, resolved, strict=True)]
    return raw if isinstance(raw, str) and "${oc.env:" in raw else resolved


def to_saved(cfg: DictConfig) -> dict:
    """The config resolved for saving (config.yaml, checkpoints, W&B), except values read from the environment
    with ``${oc.env:...}``: those are often secrets (API keys), so the reference is kept instead of the value."""
    return _keep_env_references(OmegaConf.to_container(cfg, resolve=False), OmegaConf.to_container(cfg, resolve=True))


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(OmegaConf.create(to_saved(cfg)))


__all__ = ["GenlabError", "compose", "compose_from_saved", "list_experiments",
           "to_yaml", "typed"]
