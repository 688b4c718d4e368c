"""What several picture callbacks share: the first test images, and running the model in eval mode."""

from __future__ import annotations

import contextlib

import pytorch_lightning as pl
import torch

from genlab.core.batches import first_rows


def first_test_images(trainer: pl.Trainer, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``num`` (image, label) pairs of the test split (fixed order, fixed binarization)."""
    datamodule = trainer.datamodule
    datamodule.setup("test")
    images, labels = first_rows(datamodule.test_dataloader(), num)
    return images, labels


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module):
    """Eval mode and no gradients for drawing, then the module's previous mode."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)


def generate_images(pl_module: pl.LightningModule, z: torch.Tensor) -> torch.Tensor:
    """``pl_module.generate(z)`` in eval mode without gradients."""
    with eval_mode(pl_module):
        return pl_module.generate(z.to(pl_module.device))
