"""Schemas of the config groups that only the runner reads (trainer, logger, checkpoint, console), and the group
table.

The schemas that models, datamodules, metrics and callbacks read are on the floor (``genlab.core.schema``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from omegaconf import MISSING

from genlab.core.schema import EvalConfig, check, check_choice, described
from genlab.runner.config.trainer_args import derive_trainer_config


class TrainerChecks:
    """Checks of ``trainer.*`` values that Lightning accepts when the Trainer is made but fails on mid-run (a
    ZeroDivisionError at the first epoch end, a silent no-op); the rest is Lightning's (``validate_trainer_args``).
    The fields themselves are every argument of the installed ``pytorch_lightning.Trainer`` (``trainer_args``)."""

    def __post_init__(self) -> None:
        check(self.num_nodes >= 1, "num_nodes", self.num_nodes, "must be >= 1")
        check(self.max_epochs is None or self.max_epochs >= -1, "max_epochs", self.max_epochs, "must be >= -1")
        check(self.min_epochs is None or self.min_epochs >= 0, "min_epochs", self.min_epochs, "must be >= 0")
        check(self.max_steps >= -1, "max_steps", self.max_steps, "must be >= -1 (-1: no limit)")
        check(self.min_steps is None or self.min_steps >= 0, "min_steps", self.min_steps, "must be >= 0")
        check(self.accumulate_grad_batches >= 1, "accumulate_grad_batches", self.accumulate_grad_batches,
              "must be >= 1")
        check(self.check_val_every_n_epoch is None or self.check_val_every_n_epoch >= 1, "check_val_every_n_epoch",
              self.check_val_every_n_epoch, "must be >= 1 (or null: validate by val_check_interval only)")
        check(self.num_sanity_val_steps is None or self.num_sanity_val_steps >= -1, "num_sanity_val_steps",
              self.num_sanity_val_steps, "must be >= -1 (-1: the whole validation set)")
        check(self.log_every_n_steps is None or self.log_every_n_steps >= 1, "log_every_n_steps",
              self.log_every_n_steps, "must be >= 1")
        check(self.deterministic in (None, True, False, "warn"), "deterministic", self.deterministic,
              "must be true, false or warn")
        check(self.gradient_clip_val is None or math.isfinite(self.gradient_clip_val) and self.gradient_clip_val >= 0,
              "gradient_clip_val", self.gradient_clip_val, "must be a finite number >= 0")
        for key in ("limit_train_batches", "limit_val_batches", "limit_test_batches", "limit_predict_batches"):
            value = getattr(self, key)
            check(value is None or (isinstance(value, int | float) and not isinstance(value, bool) and value >= 0),
                  key, value, "must be a fraction in [0, 1] or a number of batches")


TrainerConfig = derive_trainer_config(TrainerChecks)


@dataclass
class LoggerConfig:
    """Weights & Biases. ``mode=auto`` is online with credentials and offline without (never prompts)."""

    mode: str = described("auto", "auto (online with credentials, else offline), online, offline or disabled")
    project: str = described("genlab", "W&B project")
    entity: str | None = described(None, "W&B entity (user or team); null: your default entity")
    group: str | None = described(None, "W&B group; null: the experiment's name (a multirun's runs share their "
                                  "sweep's group)")
    name: str | None = described(None, "W&B run name; null: <experiment>/<run folder name>")
    tags: list[str] = described([], "W&B tags")
    notes: str | None = described(None, "W&B notes")
    log_model: str = described("false", "checkpoints as W&B artifacts, sent by scripts/sync.py: false, last, "
                               "best or all")

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, ("auto", "online", "offline", "disabled"))
        self.log_model = str(self.log_model).lower()
        check_choice("log_model", self.log_model, ("false", "last", "best", "all"))


@dataclass
class CallbacksConfig:
    """Checkpointing by a monitored metric, and the callbacks an experiment adds by their name in
    ``genlab.callbacks.CALLBACKS``: picture callbacks under ``images``, Lightning's own under ``lightning``, each
    with its options under ``options.<name>`` (picture callbacks default to the shared ``image_*``/``num_images``)."""

    monitor: str | None = described("val/loss", "validation metric of the best checkpoint; null: no best "
                                    "checkpoint, only the latest ones")
    monitor_mode: str = described("min", "min or max: which end of callbacks.monitor is best")
    save_top_k: int = described(1, "best checkpoints kept")
    images: list[str] = described([], "picture callbacks by name (genlab.callbacks.PICTURES)")
    image_every_n_epochs: int = described(1, "pictures every this many epochs")
    num_images: int = described(16, "images per picture")
    image_every_n_steps: int = described(0, "> 0: callbacks that support it also draw every this many training "
                                         "batches")
    lightning: list[str] = described([], "Lightning's callbacks by name, e.g. [early_stopping, lr_monitor, "
                                     "ema_weight_averaging]")
    options: dict[str, Any] = described({}, "options of each callback: callbacks.options.<name>.<key>=value")

    def __post_init__(self) -> None:
        check_choice("monitor_mode", self.monitor_mode, ("min", "max"))
        check(self.image_every_n_epochs >= 1, "image_every_n_epochs", self.image_every_n_epochs, "must be >= 1")
        check(self.num_images >= 1, "num_images", self.num_images, "must be >= 1")
        check(self.image_every_n_steps >= 0, "image_every_n_steps", self.image_every_n_steps, "must be >= 0")


@dataclass
class CheckpointConfig:
    """When ``last.ckpt`` is rewritten besides every epoch end and a stopping signal (0 turns a trigger off).

    The best-model file follows ``callbacks.monitor``; these keys bound what a crash (kill -9, power loss) can cost.
    """

    every_n_steps: int = described(0, "training batches between saves of last.ckpt (0: off)")
    every_minutes: float = described(15.0, "minutes of training between saves of last.ckpt (0: off)")

    def __post_init__(self) -> None:
        check(self.every_n_steps >= 0, "every_n_steps", self.every_n_steps, "must be >= 0 (0: off)")
        check(math.isfinite(self.every_minutes) and self.every_minutes >= 0, "every_minutes", self.every_minutes,
              "must be a finite number >= 0 (0: off)")


@dataclass
class ConsoleConfig:
    """What a run prints off a terminal (log files, pipes, SLURM's .out), where no progress bar shows."""

    heartbeat_minutes: float = described(5.0, "a progress line (batch, speed, epoch ETA, training terms) this often; "
                                         "0: off")

    def __post_init__(self) -> None:
        check(math.isfinite(self.heartbeat_minutes) and self.heartbeat_minutes >= 0, "heartbeat_minutes",
              self.heartbeat_minutes, "must be a finite number >= 0 (0: off)")


# Groups whose schema is fixed; "data" and "model" take the schema of the registered class they name.
FIXED_GROUPS: dict[str, type] = {
    "trainer": TrainerConfig,
    "logger": LoggerConfig,
    "callbacks": CallbacksConfig,
    "eval": EvalConfig,
    "checkpoint": CheckpointConfig,
    "console": ConsoleConfig,
}
OPEN_GROUPS = {"data": "data", "model": "model"}  # group -> registry kind
OPEN_MAPPINGS = {"callbacks": ("options",)}  # mappings whose keys are names, checked by make_callbacks
GROUPS = ("data", "model", *FIXED_GROUPS)
DEFAULT_CHOICES = {"trainer": "default", "logger": "wandb", "callbacks": "default", "eval": "default",
                   "checkpoint": "default", "console": "default"}


@dataclass
class TopLevelConfig:
    """The keys outside any group (the loader checks their values itself)."""

    experiment: str = described(MISSING, "configs/experiment/<NAME>.yaml: the group options and values of a run")
    seed: int = described(42, "seed of Python's, NumPy's and torch's generators and of the data order")
    run_dir: str | None = described(None, "the run folder; null: runs/<experiment>/<time>-<id>")
    ckpt: str | None = described(None, "resume from this checkpoint, or auto: the latest one of run_dir")
    max_batches: int = described(-1, "training batches before the run stops (-1: no limit), whatever the model's "
                                 "optimizer steps per batch (trainer.max_steps counts Lightning's optimizer steps)")


TOP_LEVEL = tuple(f.name for f in fields(TopLevelConfig))
TOP_DEFAULTS = {f.name: f.default for f in fields(TopLevelConfig) if f.default != MISSING}
