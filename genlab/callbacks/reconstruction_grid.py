"""Reconstruction grid: input | corrupted input (denoising only) | reconstruction of fixed val images."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from genlab.callbacks._helpers import eval_mode
from genlab.callbacks.images import PictureCallback, PictureConfig, due_after_epoch, image_grid, log_picture


class ReconstructionGrid(PictureCallback):
    """After the validation of every ``every_n_epochs``-th epoch. Needs ``pl_module(x)`` -> reconstruction in the data
    range, and uses ``pl_module.corrupt(x)`` when the model has it and it changes the input."""

    def __init__(self, cfg: PictureConfig):
        super().__init__(cfg)
        self.num_images = cfg.num_images
        self.images: torch.Tensor | None = None

    def _fixed_images(self, trainer: pl.Trainer) -> torch.Tensor:
        if self.images is None:
            batches = []
            for x, *_ in trainer.datamodule.val_dataloader():
                batches.append(x)
                if sum(len(b) for b in batches) >= self.num_images:
                    break
            self.images = torch.cat(batches)[: self.num_images]
        return self.images

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not due_after_epoch(trainer, self.cfg):
            return
        x = self._fixed_images(trainer).to(pl_module.device)
        rows = [x]
        with eval_mode(pl_module):
            if hasattr(pl_module, "corrupt"):
                corrupted = pl_module.corrupt(x)
                if corrupted is not x:
                    rows.append(corrupted)
                x = corrupted
            rows.append(pl_module(x))
        grid = image_grid(torch.cat(rows), pl_module.data_info.value_range, nrow=len(rows[0]))
        caption = "rows: input | corrupted | reconstruction" if len(rows) == 3 else "rows: input | reconstruction"
        log_picture(trainer, "images/reconstructions", grid, caption)
