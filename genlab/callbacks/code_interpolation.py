"""Rows of decoded straight-line paths between the encoded codes of two test digits (models with an encoder;
``latent_interpolation`` walks between fixed prior codes instead)."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from genlab.callbacks._helpers import eval_mode, first_test_images
from genlab.callbacks.images import PictureCallback, PictureConfig, image_grid, log_picture

STEPS = 10
MAX_ROWS = 8


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Codes (N, d), (N, d) -> (N, steps, d), evenly spaced from ``a`` to ``b`` inclusive."""
    t = torch.linspace(0, 1, steps, device=a.device, dtype=a.dtype).view(1, steps, 1)
    return a.unsqueeze(1) * (1 - t) + b.unsqueeze(1) * t


class CodeInterpolation(PictureCallback):
    """At the end of training. Needs ``pl_module.encode(x)`` -> codes and ``pl_module.decode(z)`` -> images in
    the data range. Each row: test image a | decoded codes from a to b | test image b."""

    def __init__(self, cfg: PictureConfig):
        super().__init__(cfg)
        self.rows = max(1, min(MAX_ROWS, cfg.num_images // 2))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        x, _ = first_test_images(trainer, 2 * self.rows)
        a, b = x[0::2].to(pl_module.device), x[1::2].to(pl_module.device)
        with eval_mode(pl_module):
            path = interpolate(pl_module.encode(a), pl_module.encode(b), STEPS)
            decoded = pl_module.decode(path.flatten(0, 1)).unflatten(0, path.shape[:2])
        rows = torch.cat([a.unsqueeze(1), decoded, b.unsqueeze(1)], dim=1)
        grid = image_grid(rows.flatten(0, 1), pl_module.data_info.value_range, nrow=STEPS + 2)
        log_picture(trainer, "images/code_interpolation", grid,
                    "rows: test image a | decoded path a -> b | test image b")
