"""Models back out of checkpoints: ``model, cfg = genlab.load(path)`` in a notebook, and the constructor
arguments that let Lightning's own ``Model.load_from_checkpoint(path)`` rebuild any genlab model."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig

from genlab import registry
from genlab.build import build_datamodule
from genlab.checkpoints import check_same_model, read_checkpoint_config
from genlab.config import compose_from_saved, typed


def constructor_args(ckpt: str | Path, model_name: str | None = None) -> dict:
    """``cfg``, ``data_info`` and ``eval_cfg`` of the model saved in ``ckpt``, rebuilt from its run config (the
    data's shape comes from the datamodule's config; no data is read). ``model_name``: the class asked for."""
    saved = read_checkpoint_config(ckpt)
    if model_name is not None:
        check_same_model(saved, model_name, ckpt)
    cfg = compose_from_saved(saved, [])
    return {"cfg": typed(cfg.model, "model"), "data_info": build_datamodule(cfg).info,
            "eval_cfg": typed(cfg.eval, "eval")}


def load(ckpt: str | Path, map_location: str = "cpu") -> tuple[pl.LightningModule, DictConfig]:
    """The model of ``ckpt`` in eval mode, and the run config it was trained with."""
    cfg = compose_from_saved(read_checkpoint_config(ckpt), [])
    model = registry.lookup("model", cfg.model.name).load_from_checkpoint(ckpt, map_location=map_location)
    return model.eval(), cfg
