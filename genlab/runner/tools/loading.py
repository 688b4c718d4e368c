"""Models back out of checkpoints: ``model, cfg = genlab.load(path)`` in a notebook.

``Model.load_from_checkpoint(path)`` (Lightning's own) rebuilds a model from what its checkpoint holds; this
path also checks the run config as a run would (``compose_from_saved``) and returns it.
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig

from genlab.core.saved import read_checkpoint_config
from genlab.runner.config import compose_from_saved, registry, typed
from genlab.runner.run.build import build_datamodule


def load(ckpt: str | Path, map_location: str = "cpu") -> tuple[pl.LightningModule, DictConfig]:
    """The model of ``ckpt`` in eval mode, and the run config it was trained with."""
    cfg = compose_from_saved(read_checkpoint_config(ckpt), [])
    # the data's shape comes from the datamodule's config (no data is read), so checkpoints of any genlab
    # version load here
    model = registry.lookup("model", cfg.model.name).load_from_checkpoint(
        ckpt, map_location=map_location, cfg=typed(cfg.model, "model"), data_info=build_datamodule(cfg).info,
        eval_cfg=typed(cfg.eval, "eval"))
    return model.eval(), cfg
