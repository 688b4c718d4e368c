"""Typed configs: dataclass schemas per group, YAML defaults under ``configs/``, dotlist overrides."""

from genlab.config.load import (
    compose,
    compose_from_saved,
    list_experiments,
    to_yaml,
    typed,
)
from genlab.config.schema import (
    CallbacksConfig,
    DataConfig,
    EvalConfig,
    LoggerConfig,
    ModelConfig,
    TrainerConfig,
    check,
)

__all__ = [
    "CallbacksConfig",
    "DataConfig",
    "EvalConfig",
    "LoggerConfig",
    "ModelConfig",
    "TrainerConfig",
    "check",
    "compose",
    "compose_from_saved",
    "list_experiments",
    "to_yaml",
    "typed",
]
