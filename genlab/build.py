"""Build a run's parts from its config: datamodule, model, callbacks, trainer."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback, ModelCheckpoint

from genlab import registry
from genlab.checkpoints import SaveRunConfig
from genlab.config import typed


def build_datamodule(cfg: DictConfig) -> pl.LightningDataModule:
    return registry.lookup("data", cfg.data.name)(typed(cfg.data, "data"))


def build_model(cfg: DictConfig, datamodule: pl.LightningDataModule) -> pl.LightningModule:
    model_cls = registry.lookup("model", cfg.model.name)
    return model_cls(typed(cfg.model, "model"), datamodule.info, typed(cfg.eval, "eval"))


def build_callbacks(cfg: DictConfig, run_dir: Path, saved_config: dict) -> list[Callback]:
    cb = typed(cfg.callbacks, "callbacks")
    callbacks: list[Callback] = [
        ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best-epoch{epoch:03d}", monitor=cb.monitor,
                        mode=cb.monitor_mode, save_top_k=cb.save_top_k, save_last=True,
                        auto_insert_metric_name=False),
        SaveRunConfig(saved_config),
    ]
    callbacks += [registry.lookup("callback", name)(cb) for name in cb.images]
    return callbacks


def trainer_kwargs(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg.trainer, resolve=True)


def build_trainer(cfg: DictConfig, run_dir: Path, logger, callbacks: list[Callback]) -> pl.Trainer:
    return pl.Trainer(default_root_dir=str(run_dir), logger=logger if logger is not None else False,
                      callbacks=callbacks, **trainer_kwargs(cfg))
