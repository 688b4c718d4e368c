"""Typed configs: dataclass schemas per group, YAML defaults under ``configs/``, dotlist overrides."""

from genlab.core.schema import DataConfig, EvalConfig, ModelConfig, check
from genlab.runner.config.groups import CallbacksConfig, LoggerConfig, TrainerConfig
from genlab.runner.config.load import (
    compose,
    compose_from_saved,
    list_experiments,
    to_yaml,
    typed,
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
