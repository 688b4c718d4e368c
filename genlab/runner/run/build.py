"""Build a run's parts from its config: datamodule, model, callbacks, trainer."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import Callback

from genlab.callbacks import make_callbacks
from genlab.core.errors import ConfigError
from genlab.core.schema import memory_bytes
from genlab.runner.config import registry, typed
from genlab.runner.config.groups import CallbacksConfig
from genlab.runner.run.checkpoints import (
    AtomicCheckpointIO,
    BestCheckpoint,
    LatestCheckpoint,
    RandomState,
    SaveRunConfig,
)
from genlab.runner.run.divergence import DivergenceGuard
from lightning_modules.base import GenerativeModule


def build_datamodule(cfg: DictConfig) -> pl.LightningDataModule:
    return registry.lookup("data", cfg.data.name)(typed(cfg.data, "data"))


def build_model(cfg: DictConfig, datamodule: pl.LightningDataModule) -> GenerativeModule:
    model_cls = registry.lookup("model", cfg.model.name)
    args = (typed(cfg.model, "model"), datamodule.info, typed(cfg.eval, "eval"))
    refuse_oversized(model_cls, args)
    try:
        return model_cls(*args)
    except RuntimeError as e:  # a model the meta device cannot build, sized beyond the allocator
        if "can't allocate memory" not in str(e) and "out of memory" not in str(e):
            raise
        raise ConfigError(f"model: its sizes (model.*) need more memory than this machine can give "
                          f"({str(e).splitlines()[0][:160]}); choose smaller ones") from None


def load_model(cfg: DictConfig, datamodule: pl.LightningDataModule, ckpt: str | Path,
               map_location: str | None = "cpu") -> GenerativeModule:
    """The model of ``ckpt`` with the configs of ``cfg`` (a run config as composed from the checkpoint's), through
    the one way out of a checkpoint: ``Model.load_from_checkpoint``."""
    return registry.lookup("model", cfg.model.name).load_from_checkpoint(
        ckpt, map_location=map_location, cfg=typed(cfg.model, "model"), data_info=datamodule.info,
        eval_cfg=typed(cfg.eval, "eval"))


# bytes per trained parameter: the weight, its gradient and Adam's two moments
_BYTES_PER_PARAMETER = 4 * 4


def refuse_oversized(model_cls: type, args: tuple) -> None:
    """Refuse a model whose weights, gradients and optimizer moments alone exceed this machine's memory, before
    any of it is allocated: the model is built on PyTorch's meta device (shapes, no storage). Models whose
    constructor reads tensor values cannot be built there; ``build_model`` turns their allocator failure into
    the same one-line error."""
    try:
        with torch.device("meta"):
            model = model_cls(*args)
    except NotImplementedError:
        return
    needed = sum(p.numel() for p in model.parameters()) * _BYTES_PER_PARAMETER
    if needed > memory_bytes():
        n = sum(p.numel() for p in model.parameters())
        raise ConfigError(f"model: {n:,} parameters need {needed / 2**30:,.0f} GiB for weights, gradients and Adam's "
                          f"moments, more than this machine's {memory_bytes() / 2**30:,.0f} GiB; choose smaller "
                          "sizes (model.*)")


def build_callbacks(cfg: DictConfig, run_dir: Path, saved_config: dict) -> list[Callback]:
    cb, ck = typed(cfg.callbacks, "callbacks"), typed(cfg.checkpoint, "checkpoint")
    # the guard comes first: Lightning runs checkpoint callbacks last, so a diverged batch is never saved
    callbacks: list[Callback] = [DivergenceGuard(), SaveRunConfig(saved_config), RandomState()]
    if cb.monitor and cb.save_top_k != 0:
        callbacks.append(BestCheckpoint(dirpath=run_dir / "checkpoints", filename="best-epoch{epoch:03d}",
                                        monitor=cb.monitor, mode=cb.monitor_mode, save_top_k=cb.save_top_k,
                                        save_last=False, auto_insert_metric_name=False))
    callbacks.append(LatestCheckpoint(run_dir / "checkpoints", ck.every_n_steps, ck.every_minutes))
    return callbacks + added_callbacks(cb)


def added_callbacks(cb: CallbacksConfig) -> list[Callback]:
    """The experiment's picture callbacks and Lightning callbacks (``genlab.callbacks.CALLBACKS``)."""
    shared = {"every_n_epochs": cb.image_every_n_epochs, "every_n_steps": cb.image_every_n_steps,
              "num_images": cb.num_images}
    return make_callbacks(cb.images, cb.lightning, cb.options, shared, cb.monitor, cb.monitor_mode)


# Lightning's DDP strategy names that have a registered "<name>_find_unused_parameters_true" variant
_PLAIN_DDP = ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")


def trainer_kwargs(cfg: DictConfig, model: pl.LightningModule) -> dict:
    """``trainer.*`` as given, plus the two things that depend on ``model`` (see ``GenerativeModule``): Lightning's
    ``max_steps`` (optimizer steps) from the top-level ``max_batches``, and for models that leave parameters
    without gradients the DDP variant that finds unused parameters (this is the one place that picks it)."""
    kwargs = OmegaConf.to_container(cfg.trainer, resolve=True)
    if cfg.max_batches > 0:  # compose refuses it beside trainer.max_steps
        kwargs["max_steps"] = cfg.max_batches * model.optimizer_steps_per_batch
    if model.ddp_find_unused_parameters and kwargs["strategy"] in _PLAIN_DDP:
        kwargs["strategy"] = f"{kwargs['strategy']}_find_unused_parameters_true"
    return kwargs


def build_trainer(cfg: DictConfig, run_dir: Path, logger, callbacks: list[Callback],
                  model: pl.LightningModule) -> pl.Trainer:
    return pl.Trainer(default_root_dir=str(run_dir), logger=logger if logger is not None else False,
                      callbacks=callbacks, plugins=[AtomicCheckpointIO()], **trainer_kwargs(cfg, model))
