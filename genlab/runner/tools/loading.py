"""Models back out of checkpoints: ``model, cfg = genlab.load(path)`` in a notebook.

``Model.load_from_checkpoint(path)`` (Lightning's own) rebuilds a model from what its checkpoint holds; this
path also checks the run config as a run would (``compose_from_saved``) and returns it.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from genlab.core.saved import read_checkpoint_config
from genlab.runner.config import compose_from_saved
from genlab.runner.run.build import build_datamodule, load_model
from lightning_modules.base import GenerativeModule


def load(ckpt: str | Path, map_location: str = "cpu") -> tuple[GenerativeModule, DictConfig]:
    """The model of ``ckpt`` in eval mode, and the run config it was trained with."""
    cfg = compose_from_saved(read_checkpoint_config(ckpt), [])
    # the data's shape comes from the datamodule's config (no data is read), so checkpoints of any genlab
    # version load here
    return load_model(cfg, build_datamodule(cfg), ckpt, map_location).eval(), cfg
