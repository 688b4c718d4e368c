"""Walks through latent space between pairs of fixed codes, one row per pair: smooth rows mean G maps nearby
codes to nearby images rather than memorizing isolated samples."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from genlab.callbacks._helpers import generate_images
from genlab.callbacks.images import PictureCallback, due_after_epoch, image_grid, log_picture

ROWS, STEPS = 8, 10


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between codes a and b (d,) at fractions t (T,) -> (T, d). Gaussian codes live
    near a sphere, and a straight line between two of them passes through unlikely short codes."""
    cos = torch.dot(a, b) / (a.norm() * b.norm())
    omega = torch.arccos(cos.clamp(-1, 1))
    t = t[:, None]
    if omega.abs() < 1e-4:  # (anti-)parallel codes: the straight line is the arc
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


class LatentInterpolation(PictureCallback):
    """Every ``every_n_epochs`` training epochs, rank zero only. Needs ``pl_module.fixed_noise`` and
    ``pl_module.generate(z)``; rows interpolate between fixed codes 0 and 1, 2 and 3, ..."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not due_after_epoch(trainer, self.cfg):
            return
        codes = pl_module.fixed_noise.float().cpu()
        t = torch.linspace(0, 1, STEPS)
        rows = [slerp(codes[2 * i], codes[2 * i + 1], t) for i in range(min(ROWS, len(codes) // 2))]
        images = generate_images(pl_module, torch.cat(rows))
        log_picture(trainer, "images/interpolation", image_grid(images, pl_module.data_info.value_range, nrow=STEPS),
                    f"slerp between fixed codes, epoch {trainer.current_epoch}")
