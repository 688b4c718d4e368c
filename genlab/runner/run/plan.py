"""What a run is before anything of it is written: the checks that need Lightning or wandb, and (``plan_run``) its
folder, its checkpoint and how it starts."""

from __future__ import annotations

import wandb
from omegaconf import DictConfig, OmegaConf

from genlab.core.errors import ConfigError
from genlab.runner.config import typed
from genlab.runner.config.trainer_args import validate_trainer_args
from genlab.runner.run.build import added_callbacks


def check_before_run(cfg: DictConfig) -> None:
    """The checks of a composed config that need Lightning or wandb (seconds of imports that ``--help``, ``--cfg``
    and ``check_sweep.py`` do without): the callbacks' options, by making them once; wandb's settings; Lightning's
    own Trainer checks. Whatever starts a run calls this before it writes anything."""
    added_callbacks(typed(cfg.callbacks, "callbacks"))
    _check_logger(cfg)
    validate_trainer_args(OmegaConf.to_container(cfg.trainer))


def _check_logger(cfg: DictConfig) -> None:
    """wandb's own settings validation, so a bad project name stops here and not after the run folder exists."""
    try:
        wandb.Settings(project=cfg.logger.project, entity=cfg.logger.entity)
    except (wandb.errors.UsageError, ValueError) as e:
        raise ConfigError(f"logger: {str(e).splitlines()[0]}") from None
