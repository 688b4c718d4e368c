"""W&B sweep files (``configs/sweep/*.yaml``): check before ``wandb sweep`` that every parameter is a genlab
config key and every value it can take composes into a valid run config."""

from __future__ import annotations

from pathlib import Path

import yaml

from genlab.core.errors import ConfigError
from genlab.runner.config import compose


def _read(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"sweep file {path} does not exist")
    try:
        sweep = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(sweep, dict) or not isinstance(sweep.get("parameters"), dict):
        raise ConfigError(f"{path}: a sweep file needs a 'parameters' mapping")
    return sweep


def fixed_args(sweep: dict) -> list[str]:
    """The ``key=value`` items the sweep's ``command`` passes to every run (e.g. ``experiment=NAME``)."""
    return [str(item) for item in sweep.get("command", []) if "=" in str(item) and not str(item).startswith("$")]


def parameter_values(name: str, spec: dict) -> list:
    """Values that stand for everything the parameter can take: each listed value, or a range's two ends."""
    if not isinstance(spec, dict):
        raise ConfigError(f"parameter {name!r}: expected a mapping with values, value or min/max")
    if "values" in spec:
        return list(spec["values"])
    if "value" in spec:
        return [spec["value"]]
    if "min" in spec and "max" in spec:
        return [spec["min"], spec["max"]]
    raise ConfigError(f"parameter {name!r}: give values, value or min/max")


def _arg(key: str, value) -> str:
    text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    return f"{key}={text}"


def check_sweep(path: str | Path) -> int:
    """Compose the run config of every parameter value (one parameter at a time, the others at their first
    value); returns how many configs were composed. A ConfigError names the file and the parameter."""
    path = Path(path)
    sweep = _read(path)
    fixed = fixed_args(sweep)
    values = {name: parameter_values(name, spec) for name, spec in sweep["parameters"].items()}
    first = {name: vals[0] for name, vals in values.items()}
    composed = 0
    for name, vals in values.items():
        for value in vals:
            args = [*fixed, *(_arg(k, value if k == name else v) for k, v in first.items())]
            try:
                compose(args)
            except ConfigError as e:
                raise ConfigError(f"{path}: parameter {name}={value!r}: {e}") from None
            composed += 1
    return composed
