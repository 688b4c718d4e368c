"""Translation panels of fixed test images: real_A | fake_B | rec_A | idt_B, and the same for B."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from genlab.callbacks._helpers import eval_mode
from genlab.callbacks.images import (
    PictureCallback,
    PictureConfig,
    due_after_batch,
    due_after_epoch,
    image_grid,
    log_picture,
)
from genlab.core.batches import first_rows

SIDES = ("A", "B")
PANELS = {"AtoB": ("real_A", "fake_B", "rec_A", "idt_B"), "BtoA": ("real_B", "fake_A", "rec_B", "idt_A")}


class TranslationGrid(PictureCallback):
    """Every ``every_n_steps`` training batches (when > 0) and at the end of every ``every_n_epochs``-th epoch,
    one picture per direction: a row per test image, the columns named in ``PANELS``. Needs
    ``pl_module.visuals(real_A, real_B)`` -> those tensors, and test batches ``{"A", "B", "A_valid", "B_valid"}``."""

    def __init__(self, cfg: PictureConfig):
        super().__init__(cfg)
        self.num_images = cfg.num_images
        self.images: dict[str, torch.Tensor] | None = None

    def _fixed_images(self, trainer: pl.Trainer) -> dict[str, torch.Tensor]:
        """The first ``num_images`` test images of each domain (fewer if the split is smaller)."""
        if self.images is None:
            valid = ([batch[side][batch[f"{side}_valid"]] for side in SIDES]
                     for batch in trainer.datamodule.test_dataloader())
            self.images = dict(zip(SIDES, first_rows(valid, self.num_images), strict=True))
        return self.images

    def draw(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        images = self._fixed_images(trainer)
        n = min(len(images["A"]), len(images["B"]))
        with eval_mode(pl_module):
            visuals = pl_module.visuals(images["A"][:n].to(pl_module.device), images["B"][:n].to(pl_module.device))
        for direction, columns in PANELS.items():
            rows = torch.stack([visuals[c] for c in columns], dim=1).flatten(0, 1)  # image-major: one row each
            grid = image_grid(rows, pl_module.data_info.value_range, nrow=len(columns))
            log_picture(trainer, f"images/{direction}", grid, caption="columns: " + " | ".join(columns))

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx):
        if due_after_batch(trainer, self.cfg):
            self.draw(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if due_after_epoch(trainer, self.cfg):
            self.draw(trainer, pl_module)
