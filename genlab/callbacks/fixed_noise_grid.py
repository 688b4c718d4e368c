"""Samples of a fixed noise batch after every training epoch: the same z each time, so the grid shows how G
changes. The noise is the model's buffer, so it survives checkpoints and resumes."""

from __future__ import annotations

import math

import pytorch_lightning as pl

from genlab.callbacks._helpers import generate_images
from genlab.callbacks.images import PictureCallback, due_after_epoch, image_grid, log_picture


class FixedNoiseGrid(PictureCallback):
    """Every ``every_n_epochs`` training epochs, rank zero only. Needs ``pl_module.fixed_noise`` (N, latent)
    and ``pl_module.generate(z)`` -> images in the data range; shows the first ``num_images`` codes."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not due_after_epoch(trainer, self.cfg):
            return
        images = generate_images(pl_module, pl_module.fixed_noise[: self.cfg.num_images])
        grid = image_grid(images, pl_module.data_info.value_range, nrow=math.ceil(math.sqrt(len(images))))
        log_picture(trainer, "images/fixed_noise", grid, f"fixed noise, epoch {trainer.current_epoch}")
