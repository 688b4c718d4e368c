"""What a run is before anything of it is written: ``plan_run`` decides its folder, its checkpoint (read once) and
how it starts; ``check_before_run`` makes the checks that need Lightning or wandb."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import wandb
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from genlab.core.errors import CheckpointError, ConfigError
from genlab.core.saved import SavedCheckpoint, check_same_model, read_saved
from genlab.runner.cli import pop_arg
from genlab.runner.config import compose_from_saved, typed
from genlab.runner.config.trainer_args import validate_trainer_args
from genlab.runner.run.build import added_callbacks
from genlab.runner.run.checkpoints import latest_checkpoint, run_dir_of
from genlab.runner.run.environment import check_environment
from genlab.runner.run.rundir import RUN_DIR_ENV, choose_run_dir, refuse_in_use, refuse_taken, run_id_for, shared_id

# How a run starts. fresh: a new run in a new folder; resume: a checkpoint's run, in its folder; branch: a new run
# (folder and W&B run) from a checkpoint's weights; restart: ckpt=auto found no checkpoint yet (a job requeued
# before its first save), so the run starts over in its folder, keeping the folder's W&B id.
STARTS = ("fresh", "resume", "branch", "restart")


@dataclass(frozen=True)
class RunPlan:
    cfg: DictConfig
    run_dir: Path
    start: str  # one of STARTS
    checkpoint: SavedCheckpoint | None  # what Lightning resumes from or branches off
    wandb_id: str  # kept in the folder's wandb_id.txt, so every process of the run logs to one W&B run
    launching: bool  # this process starts the run; False in a DDP rank started inside the folder it claimed

    @property
    def ckpt_path(self) -> str | None:
        return str(self.checkpoint.path) if self.checkpoint else None


def config_from_checkpoint(args: list[str]) -> tuple[DictConfig, SavedCheckpoint]:
    """``ckpt=PATH`` or ``ckpt=auto run_dir=PATH`` without ``experiment=``: the config saved in the checkpoint, the
    other arguments overriding it, and the checkpoint (read once, for ``plan_run``)."""
    ckpt, _ = pop_arg(args, "ckpt")
    run_dir, _ = pop_arg(args, "run_dir")  # kept in args: it is also a config key
    path = latest_checkpoint(run_dir) if ckpt == "auto" and run_dir else ckpt
    if path in (None, "auto"):
        raise CheckpointError(f"ckpt=auto found no checkpoint under {run_dir or 'run_dir (not given)'}"
                              "/checkpoints; pass experiment=NAME too, to start the run when none exists yet")
    saved = read_saved(path)
    return compose_from_saved(saved.config, args), saved


def plan_run(cfg: DictConfig, saved: SavedCheckpoint | None = None) -> RunPlan:
    """Decide the run, reading only: ``ckpt=auto`` resumes the latest checkpoint of ``run_dir`` (or restarts when
    it has none); ``ckpt=PATH`` resumes in the checkpoint's folder unless ``run_dir`` names another one, where it
    branches; a new folder must not hold another run. ``saved``: the checkpoint, already read by the caller."""
    check_before_run(cfg)
    launching = rank_zero_only.rank == 0 and not os.environ.get(RUN_DIR_ENV)
    if cfg.ckpt == "auto":
        if not cfg.run_dir and not os.environ.get(RUN_DIR_ENV) and not shared_id():
            raise ConfigError("ckpt=auto needs run_dir=PATH: the run folder whose latest checkpoint to resume")
        run_dir = choose_run_dir(cfg.experiment, cfg.run_dir)
        if saved is None:
            latest = latest_checkpoint(run_dir)
            saved = read_saved(latest) if latest else None
        start = "resume" if saved else "restart"
    elif cfg.ckpt:
        saved = saved or read_saved(cfg.ckpt)
        home = run_dir_of(saved.path)
        run_dir = choose_run_dir(cfg.experiment, cfg.run_dir) if cfg.run_dir else home
        start = "resume" if run_dir.resolve() == home else "branch"
    else:
        run_dir, start = choose_run_dir(cfg.experiment, cfg.run_dir), "fresh"
    if saved:
        check_same_model(saved.config, cfg.model.name, saved.path)
        refuse_changed_overrides(cfg, saved)
    if launching and start in ("fresh", "branch"):
        refuse_taken(run_dir)
    if launching:
        refuse_in_use(run_dir)  # read-only here; claimed() takes the lock for good once the run is built
    return RunPlan(cfg, run_dir, start, saved, run_id_for(run_dir), launching)


def check_before_run(cfg: DictConfig) -> None:
    """The checks of a composed config that need Lightning or wandb (seconds of imports that ``--help``, ``--cfg``
    and ``check_sweep.py`` do without): the callbacks' options, by making them once; wandb's settings; Lightning's
    own Trainer checks; the environment the run will write in. Whatever starts a run calls this before it writes
    anything."""
    check_environment(cfg)
    added_callbacks(typed(cfg.callbacks, "callbacks"))
    _check_logger(cfg)
    validate_trainer_args(OmegaConf.to_container(cfg.trainer))


def _check_logger(cfg: DictConfig) -> None:
    """wandb's own settings validation, so a bad project name stops here and not after the run folder exists."""
    try:
        wandb.Settings(project=cfg.logger.project, entity=cfg.logger.entity)
    except (wandb.errors.UsageError, ValueError) as e:
        raise ConfigError(f"logger: {str(e).splitlines()[0]}") from None


# keys a resumed run may change: how long and how it trains, logs and saves, not what it trains
_RESUMABLE_DATA_KEYS = ("root", "num_workers")


def refuse_changed_overrides(cfg: DictConfig, saved: SavedCheckpoint) -> None:
    """A resumed run restores the model, its optimizer state and its data position from the checkpoint: a changed
    ``model.*``, ``data.*`` or ``seed`` would be recorded but not applied, so it is refused."""
    now = OmegaConf.to_container(cfg, resolve=True)
    changed = [f"seed={now['seed']}"] if now.get("seed") != saved.config.get("seed") else []
    for group in ("model", "data"):
        before = saved.config.get(group) or {}
        for key, value in (now.get(group) or {}).items():
            if group == "data" and key in _RESUMABLE_DATA_KEYS:
                continue
            if key in before and before[key] != value:
                changed.append(f"{group}.{key}={value}")
    if changed:
        raise ConfigError(f"cannot change {', '.join(changed)} when resuming {saved.path}: the checkpoint restores "
                          "the model, its optimizer and its data order; start a new run (experiment=..., no ckpt) "
                          "to train with other values")
