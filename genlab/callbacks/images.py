"""Pictures: save them in the run folder and log them to W&B, from rank zero only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: pictures are files, never windows

import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from pytorch_lightning.loggers import WandbLogger  # noqa: E402
from torchvision.utils import make_grid, save_image  # noqa: E402

from genlab.core.steps import logging_step  # noqa: E402


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
