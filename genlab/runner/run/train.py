"""Train a model from a config: ``train(compose([...]))`` from Python, or ``scripts/train.py`` from a shell."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import yaml
from omegaconf import DictConfig
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities import rank_zero_info
from pytorch_lightning.utilities.exceptions import SIGTERMException

from genlab.runner.config.load import to_saved
from genlab.runner.run.build import build_callbacks, build_datamodule, build_model, build_trainer
from genlab.runner.run.checkpoints import LatestCheckpoint, check_fits
from genlab.runner.run.console import progress_callbacks, quiet
from genlab.runner.run.plan import RunPlan, plan_run
from genlab.runner.run.prepare import prepare
from genlab.runner.run.rundir import RUN_DIR_ENV, WANDB_ID_ENV, claimed, git_info, published
from genlab.runner.run.threads import fit_threads
from genlab.runner.run.tracking import TrackingError, start_wandb_run, tracked


@dataclass
class TrainResult:
    run_dir: Path
    trainer: pl.Trainer
    model: pl.LightningModule
    datamodule: pl.LightningDataModule


def saved_config(cfg: DictConfig, run_dir: Path) -> dict:
    """The config as written to ``config.yaml``, into checkpoints and to W&B, with the code version."""
    data = to_saved(cfg)  # ${oc.env:...} values (secrets) are saved as the reference, not in clear
    data["run_dir"] = str(run_dir)
    data["git"] = git_info()
    return data


def train(cfg_or_plan: DictConfig | RunPlan) -> TrainResult:
    """Fit (resuming from ``cfg.ckpt`` if set), then test the best checkpoint's weights when a test split exists.

    Nothing is written until the config, the data and the checkpoint are known to be usable, and the run folder
    is locked for the run's life."""
    plan = cfg_or_plan if isinstance(cfg_or_plan, RunPlan) else plan_run(cfg_or_plan)
    cfg, run_dir = plan.cfg, plan.run_dir
    quiet()
    threads_line, threads_env = fit_threads(cfg.trainer.devices)
    rank_zero_info(f"genlab: {threads_line}")
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    if cfg.trainer.limit_val_batches != 0 or cfg.trainer.limit_test_batches != 0:  # what prepare serves runs
        prepare(cfg, model)
    if plan.launching:
        datamodule.prepare_data()
        datamodule.setup("fit")
        if plan.checkpoint:
            check_fits(plan.checkpoint, model)
    config = saved_config(cfg, run_dir)
    existed = run_dir.exists()
    # the other DDP ranks that Lightning starts run train() too, inside the folder this process has claimed
    lock = claimed(run_dir, fresh=plan.start in ("fresh", "branch")) if plan.launching else contextlib.nullcontext()
    try:
        # an explicit logger.mode=online stops at tracked(), before the run's record is written
        with (lock, published({RUN_DIR_ENV: str(run_dir), WANDB_ID_ENV: plan.wandb_id, **threads_env}),
              tracked(cfg, run_dir, plan.wandb_id, config) as loggers):
            if plan.launching:
                (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
                (run_dir / "wandb_id.txt").write_text(plan.wandb_id)
            trainer = _fit_and_test(plan, loggers, config, model, datamodule)
    except TrackingError:
        if plan.launching and not existed:  # only the failed W&B start's files are in the folder this start made
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return TrainResult(run_dir, trainer, model, datamodule)


def _fit_and_test(plan: RunPlan, loggers, config, model, datamodule) -> pl.Trainer:
    cfg, run_dir = plan.cfg, plan.run_dir
    callbacks = build_callbacks(cfg, run_dir, config) + progress_callbacks(cfg.trainer.enable_progress_bar,
                                                                           cfg.console.heartbeat_minutes)
    trainer = build_trainer(cfg, run_dir, loggers, callbacks, model)
    start_wandb_run(loggers, cfg, run_dir)  # the id W&B gave the run goes to wandb_id.txt
    rank_zero_info(f"genlab: run folder {run_dir}")
    try:
        # genlab's checkpoints hold tensors and plain types only (RandomState stores NumPy's state as tensors)
        trainer.fit(model, datamodule=datamodule, ckpt_path=plan.ckpt_path, weights_only=True)
        if not trainer.interrupted and cfg.trainer.limit_test_batches != 0:
            trainer.test(model, datamodule=datamodule, ckpt_path="best" if _has_best(trainer) else None,
                         weights_only=True)
    except SIGTERMException:
        latest = next(c for c in trainer.callbacks if isinstance(c, LatestCheckpoint))
        raise latest.interruption(trainer, run_dir) from None
    return trainer


def _has_best(trainer: pl.Trainer) -> bool:
    return any(isinstance(c, ModelCheckpoint) and c.best_model_path for c in trainer.callbacks)
