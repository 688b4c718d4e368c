"""Callbacks an experiment adds by name: ``CALLBACKS`` is the table, ``make_callback`` builds one.

Picture callbacks (``callbacks.images``) take a ``PictureConfig`` and draw from the model's public methods
(documented on each class), never from a particular model class. Lightning's own callbacks
(``callbacks.lightning``) take their constructor's keyword arguments; those that watch a metric (``WATCHING``)
watch the run's ``callbacks.monitor`` in its ``monitor_mode`` unless their options name another. Options of either
come from ``callbacks.options.<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import (
    EarlyStopping,
    EMAWeightAveraging,
    LearningRateMonitor,
    StochasticWeightAveraging,
    Timer,
)

from genlab.callbacks.code_interpolation import CodeInterpolation
from genlab.callbacks.fixed_noise_grid import FixedNoiseGrid
from genlab.callbacks.images import PictureCallback
from genlab.callbacks.latent_interpolation import LatentInterpolation
from genlab.callbacks.latent_manifold import LatentManifold
from genlab.callbacks.latent_scatter import LatentScatter
from genlab.callbacks.reconstruction_grid import ReconstructionGrid
from genlab.callbacks.translation_grid import TranslationGrid
from genlab.core.errors import ConfigError
from genlab.core.schema import as_config

PICTURES = {
    "reconstruction_grid": ReconstructionGrid,
    "latent_scatter": LatentScatter,
    "latent_interpolation": LatentInterpolation,
    "latent_manifold": LatentManifold,
    "code_interpolation": CodeInterpolation,
    "fixed_noise_grid": FixedNoiseGrid,
    "translation_grid": TranslationGrid,
}
LIGHTNING = {
    "early_stopping": EarlyStopping,
    "lr_monitor": LearningRateMonitor,
    "ema_weight_averaging": EMAWeightAveraging,
    "stochastic_weight_averaging": StochasticWeightAveraging,
    "timer": Timer,
}
CALLBACKS = {**PICTURES, **LIGHTNING}
# Lightning callbacks that watch a metric: name -> their (metric, direction) arguments
WATCHING = {"early_stopping": ("monitor", "mode")}


def watched(name: str, options: dict[str, Any], monitor: str | None, mode: str) -> dict[str, Any]:
    """``options`` of a Lightning callback, with the run's monitor and mode where it watches a metric and its
    options leave them out."""
    if name not in WATCHING:
        return options
    if not isinstance(options, Mapping):
        raise ConfigError(f"callbacks.options.{name} must be a mapping of {name}'s arguments, not {options!r}")
    metric, direction = WATCHING[name]
    if options.get(metric) is None and monitor is None:
        raise ConfigError(f"callbacks.lightning=[{name}] watches callbacks.monitor, which is null; set "
                          f"callbacks.monitor or callbacks.options.{name}.{metric}")
    if metric in options:  # another metric: its direction is the options' (or Lightning's default)
        return options
    return {metric: monitor, direction: mode, **options}


def make_callback(name: str, kind: dict[str, type], options: dict[str, Any], shared: dict[str, Any]) -> pl.Callback:
    """The callback ``kind[name]`` with ``options`` (``callbacks.options.<name>``); picture callbacks take the
    ``shared`` picture options where ``options`` leaves them out. One-line ConfigError for a bad name or option."""
    if name not in kind:
        raise ConfigError(f"unknown callback name {name!r}; available: {', '.join(sorted(kind))}")
    cls, where = kind[name], f"callbacks.options.{name}"
    if issubclass(cls, PictureCallback):
        return cls(as_config(cls.Config, {**shared, **options}, where))
    try:
        return cls(**options)
    except (TypeError, ValueError, MisconfigurationException) as e:
        raise ConfigError(f"{where}: {str(e).splitlines()[0]}") from None


def make_callbacks(images: list[str], lightning: list[str], options: dict[str, dict], shared: dict[str, Any],
                   monitor: str | None = None, monitor_mode: str = "min") -> list[pl.Callback]:
    """The picture callbacks named in ``images`` and Lightning's named in ``lightning``, with their ``options``;
    ``monitor`` and ``monitor_mode`` are the run's (``callbacks.monitor``), for the callbacks that watch a metric."""
    unused = sorted(set(options) - set(images) - set(lightning))
    if unused:
        raise ConfigError(f"callbacks.options.{unused[0]}: no such callback in callbacks.images or "
                          f"callbacks.lightning ({', '.join([*images, *lightning]) or 'none'})")
    return [*(make_callback(name, PICTURES, options.get(name) or {}, shared) for name in images),
            *(make_callback(name, LIGHTNING, watched(name, options.get(name) or {}, monitor, monitor_mode), {})
              for name in lightning)]
