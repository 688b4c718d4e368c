"""Generate pictures from a model in eval mode without gradients, then put it back as it was."""

from __future__ import annotations

import pytorch_lightning as pl
import torch


@torch.no_grad()
def generate_images(pl_module: pl.LightningModule, z: torch.Tensor) -> torch.Tensor:
    was_training = pl_module.training
    pl_module.eval()
    try:
        return pl_module.generate(z.to(pl_module.device))
    finally:
        pl_module.train(was_training)
