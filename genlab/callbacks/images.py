"""Pictures: what every picture callback takes (``PictureConfig``), when it draws (one cadence rule), and saving
the picture in the run folder and to W&B, from rank zero only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: pictures are files, never windows

import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from pytorch_lightning.loggers import WandbLogger  # noqa: E402
from torchvision.utils import make_grid, save_image  # noqa: E402

from genlab.core.schema import check  # noqa: E402
from genlab.core.steps import logging_step  # noqa: E402


@dataclass
class PictureConfig:
    """Options of one picture callback: ``callbacks.options.<name>.<key>``; each defaults to the shared
    ``callbacks.image_<key>`` (``num_images`` to ``callbacks.num_images``). Callbacks that draw once, at the end
    of training, read only ``num_images``."""

    every_n_epochs: int = 1
    every_n_steps: int = 0  # > 0: callbacks that support it also draw every this many training batches
    num_images: int = 16

    def __post_init__(self) -> None:
        check(self.every_n_epochs >= 1, "every_n_epochs", self.every_n_epochs, "must be >= 1")
        check(self.every_n_steps >= 0, "every_n_steps", self.every_n_steps, "must be >= 0")
        check(self.num_images >= 1, "num_images", self.num_images, "must be >= 1")


class PictureCallback(pl.Callback):
    """Base of the picture callbacks: made from a ``PictureConfig`` (``genlab.callbacks.make_callback``)."""

    Config = PictureConfig

    def __init__(self, cfg: PictureConfig):
        self.cfg = cfg


def epoch_due(epoch: int, every_n_epochs: int) -> bool:
    """The one cadence rule of the picture callbacks: after epochs n, 2n, 3n, ... counted from 1, as Lightning's
    ``check_val_every_n_epoch`` counts (``epoch`` is Lightning's ``current_epoch``, counted from 0)."""
    return (epoch + 1) % every_n_epochs == 0


def due_after_epoch(trainer: pl.Trainer, cfg: PictureConfig) -> bool:
    """``epoch_due`` on rank zero, never in the sanity check."""
    return trainer.is_global_zero and not trainer.sanity_checking and epoch_due(trainer.current_epoch,
                                                                                cfg.every_n_epochs)


def due_after_batch(trainer: pl.Trainer, cfg: PictureConfig) -> bool:
    """Every ``every_n_steps`` training batches (when > 0), on rank zero."""
    return trainer.is_global_zero and cfg.every_n_steps > 0 and logging_step(trainer) % cfg.every_n_steps == 0


def image_grid(images: torch.Tensor, value_range: tuple[float, float], nrow: int = 8) -> torch.Tensor:
    """A (3, H, W) grid in [0, 1] of a batch of images in ``value_range``."""
    return make_grid(images.detach().float().cpu(), nrow=nrow, normalize=True, value_range=value_range, padding=2,
                     pad_value=1.0)


def _file_name(key: str, step: int) -> str:
    return f"{key.replace('/', '_')}_step{step:07d}.png"


def log_picture(trainer: pl.Trainer, key: str, picture: torch.Tensor | Figure,
                caption: str | None = None) -> Path | None:
    """Save ``picture`` (a grid tensor in [0, 1] or a matplotlib figure) under ``<run>/images/`` and log it
    to every W&B logger of the trainer. Only rank zero does anything; returns the file written."""
    if not trainer.is_global_zero:
        return None
    step = logging_step(trainer)
    path = Path(trainer.default_root_dir) / "images" / _file_name(key, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(picture, Figure):
        picture.savefig(path, dpi=100, bbox_inches="tight")
    else:
        save_image(picture, path)
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            extra = {"caption": [caption]} if caption else {}
            logger.log_image(key=key, images=[str(path)], step=step, **extra)
    return path
