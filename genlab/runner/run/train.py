"""Train a model from a config: ``train(compose([...]))`` from Python, or ``scripts/train.py`` from a shell."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import yaml
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities import rank_zero_info, rank_zero_only
from pytorch_lightning.utilities.exceptions import SIGTERMException

from genlab.core.errors import ConfigError, RunInterrupted
from genlab.core.saved import check_same_model, read_checkpoint_config
from genlab.runner.config.load import to_saved
from genlab.runner.run.build import build_callbacks, build_datamodule, build_model, build_trainer
from genlab.runner.run.checkpoints import LatestCheckpoint, check_fits, latest_checkpoint, run_dir_of
from genlab.runner.run.console import progress_callbacks, quiet
from genlab.runner.run.plan import check_before_run
from genlab.runner.run.prepare import prepare
from genlab.runner.run.rundir import (
    RUN_DIR_ENV,
    WANDB_ID_ENV,
    choose_run_dir,
    claimed,
    git_info,
    published,
    refuse_taken,
    run_id_for,
    shared_id,
)
from genlab.runner.run.threads import fit_threads
from genlab.runner.run.tracking import TrackingError, finish_run, make_loggers, start_wandb_run


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


# keys a resumed run may change: how long and how it trains, logs and saves, not what it trains
_RESUMABLE_DATA_KEYS = ("root", "num_workers")


def refuse_changed_overrides(cfg: DictConfig, saved: dict, ckpt: str | Path) -> None:
    """A resumed run restores the model, its optimizer state and its data position from the checkpoint: a changed
    ``model.*``, ``data.*`` or ``seed`` would be recorded but not applied, so it is refused."""
    now = OmegaConf.to_container(cfg, resolve=True)
    changed = [f"seed={now['seed']}"] if now.get("seed") != saved.get("seed") else []
    for group in ("model", "data"):
        before = saved.get(group) or {}
        for key, value in (now.get(group) or {}).items():
            if group == "data" and key in _RESUMABLE_DATA_KEYS:
                continue
            if key in before and before[key] != value:
                changed.append(f"{group}.{key}={value}")
    if changed:
        raise ConfigError(f"cannot change {', '.join(changed)} when resuming {ckpt}: the checkpoint restores the "
                          "model, its optimizer and its data order; start a new run (experiment=..., no ckpt) "
                          "to train with other values")


def plan_run(cfg: DictConfig) -> tuple[Path, str | None]:
    """The run folder and the checkpoint to resume (None: a fresh run), refusing a folder that holds another run.
    Reads only. ``ckpt=auto`` resumes the latest checkpoint of the run folder, or starts fresh if it has none; a
    checkpoint resumes in its own folder unless ``run_dir`` names another one, which must not hold a run."""
    if cfg.ckpt == "auto":
        if not cfg.run_dir and not os.environ.get(RUN_DIR_ENV) and not shared_id():
            raise ConfigError("ckpt=auto needs run_dir=PATH: the run folder whose latest checkpoint to resume")
        run_dir = choose_run_dir(cfg.experiment, cfg.run_dir)
        latest = latest_checkpoint(run_dir)
        return run_dir, str(latest) if latest else None
    if cfg.ckpt and not (cfg.run_dir and Path(cfg.run_dir).resolve() != run_dir_of(cfg.ckpt)):
        return run_dir_of(cfg.ckpt), str(cfg.ckpt)
    # a new run: fresh, or branching off a checkpoint into another folder (a new W&B run too)
    run_dir = choose_run_dir(cfg.experiment, cfg.run_dir)
    if rank_zero_only.rank == 0 and not os.environ.get(RUN_DIR_ENV):
        refuse_taken(run_dir)
    return run_dir, str(cfg.ckpt) if cfg.ckpt else None


def train(cfg: DictConfig) -> TrainResult:
    """Fit (resuming from ``cfg.ckpt`` if set), then test the best checkpoint's weights when a test split exists.

    Nothing is written until the config, the data and the checkpoint are known to be usable, and the run folder
    is locked for the run's life."""
    check_before_run(cfg)
    run_dir, ckpt = plan_run(cfg)
    if ckpt:
        saved = read_checkpoint_config(ckpt)
        check_same_model(saved, cfg.model.name, ckpt)
        refuse_changed_overrides(cfg, saved, ckpt)
    quiet()
    threads_line, threads_env = fit_threads(cfg.trainer.devices)
    rank_zero_info(f"genlab: {threads_line}")
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    if cfg.trainer.limit_val_batches != 0 or cfg.trainer.limit_test_batches != 0:  # what prepare serves runs
        prepare(cfg, model)
    rank_zero = rank_zero_only.rank == 0 and not os.environ.get(RUN_DIR_ENV)
    if rank_zero:
        datamodule.prepare_data()
        datamodule.setup("fit")
        if ckpt:
            check_fits(ckpt, model)
    config = saved_config(cfg, run_dir)
    # the other DDP ranks that Lightning starts run train() too, inside the folder rank 0 has claimed
    branching = bool(ckpt) and run_dir.resolve() != run_dir_of(ckpt)
    fresh = (not ckpt and cfg.ckpt != "auto") or branching
    existed = run_dir.exists()
    lock = claimed(run_dir, fresh=fresh) if rank_zero else contextlib.nullcontext()
    try:
        with lock:
            run_id = run_id_for(run_dir)
            with published({RUN_DIR_ENV: str(run_dir), WANDB_ID_ENV: run_id, **threads_env}):
                # an explicit logger.mode=online stops here, before the run's record is written
                loggers = make_loggers(cfg, run_dir, run_id, config)
                if rank_zero:
                    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
                    (run_dir / "wandb_id.txt").write_text(run_id)
                trainer = _fit_and_test(cfg, run_dir, loggers, config, model, datamodule, ckpt)
    except TrackingError:
        if rank_zero and not existed:  # only the failed W&B start's files are in the folder this start made
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return TrainResult(run_dir, trainer, model, datamodule)


def _fit_and_test(cfg, run_dir, loggers, config, model, datamodule, ckpt) -> pl.Trainer:
    callbacks = build_callbacks(cfg, run_dir, config) + progress_callbacks(cfg.trainer.enable_progress_bar,
                                                                           cfg.console.heartbeat_minutes)
    trainer = build_trainer(cfg, run_dir, loggers, callbacks, model)
    start_wandb_run(loggers, cfg, run_dir)  # the id W&B gave the run goes to wandb_id.txt
    rank_zero_info(f"genlab: run folder {run_dir}")
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt)
        if not trainer.interrupted and cfg.trainer.limit_test_batches != 0:
            trainer.test(model, datamodule=datamodule, ckpt_path="best" if _has_best(trainer) else None)
    except SIGTERMException:
        latest = next(c for c in trainer.callbacks if isinstance(c, LatestCheckpoint))
        signum = latest.signum or signal.SIGTERM
        if trainer.global_rank != 0:  # the ranks share one stderr: rank 0 says it once
            raise SystemExit(128 + signum) from None
        raise RunInterrupted(f"stopped by {signal.Signals(signum).name} at epoch {trainer.current_epoch}, batch "
                             f"{trainer.fit_loop.epoch_loop.batch_progress.total.completed}; saved {latest.path}; "
                             f"resume with: scripts/train.py ckpt=auto run_dir={run_dir}", signum) from None
    finally:
        finish_run(run_dir)
    return trainer


def _has_best(trainer: pl.Trainer) -> bool:
    return any(isinstance(c, ModelCheckpoint) and c.best_model_path for c in trainer.callbacks)
