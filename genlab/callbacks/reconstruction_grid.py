"""Reconstruction grid: input | corrupted input (denoising only) | reconstruction of fixed val images."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from genlab.callbacks._helpers import eval_mode
from genlab.callbacks.images import PictureCallback, PictureConfig, due_after_epoch, image_grid, log_picture
from genlab.core.batches import first_rows


class ReconstructionGrid(PictureCallback):
    """After the validation of every ``every_n_epochs``-th epoch. Needs ``pl_module(x)`` -> reconstruction in the data
    range and ``pl_module.corrupt(x)`` (every genlab model's: the input itself unless the model denoises), whose
    row is shown when it changes the input."""

    def __init__(self, cfg: PictureConfig):
        super().__init__(cfg)
        self.num_images = cfg.num_images
        self.images: torch.Tensor | None = None

    def _fixed_images(self, trainer: pl.Trainer) -> torch.Tensor:
        if self.images is None:
            self.images = first_rows(((x,) for x, *_ in trainer.datamodule.val_dataloader()), self.num_images)[0]
        return self.images

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not due_after_epoch(trainer, self.cfg):
            return
        x = self._fixed_images(trainer).to(pl_module.device)
        rows = [x]
        with eval_mode(pl_module):
            corrupted = pl_module.corrupt(x)
            if corrupted is not x:
                rows.append(corrupted)
            rows.append(pl_module(corrupted))
        grid = image_grid(torch.cat(rows), pl_module.data_info.value_range, nrow=len(rows[0]))
        caption = "rows: input | corrupted | reconstruction" if len(rows) == 3 else "rows: input | reconstruction"
        log_picture(trainer, "images/reconstructions", grid, caption)
