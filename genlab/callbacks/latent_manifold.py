"""The decoded 2-D latent space: images at a grid of standard-normal quantiles (Kingma & Welling, fig. 4)."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info

from genlab.callbacks._helpers import eval_mode
from genlab.callbacks.images import PictureCallback, image_grid, log_picture

GRID = 20


def quantile_grid(size: int, device=None) -> torch.Tensor:
    """(size * size, 2) points at the N(0, 1) quantiles of evenly spaced probabilities in (0, 1); row by row
    from the top, so z[1] grows upward and z[0] to the right."""
    q = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0.5 / size, 1 - 0.5 / size, size))
    z1, z0 = torch.meshgrid(q.flip(0), q, indexing="ij")
    return torch.stack([z0, z1], dim=-1).reshape(-1, 2).to(device)


class LatentManifold(PictureCallback):
    """At the end of training, for models with a 2-D latent and a N(0, I) prior; other latent sizes are
    skipped with a note. Needs ``pl_module.fixed_noise`` (for the latent size) and ``pl_module.decode(z)``."""

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        if pl_module.fixed_noise.shape[1] != 2:
            rank_zero_info("latent_manifold: drawn for a 2-D latent only; this one has "
                           f"{pl_module.fixed_noise.shape[1]} dims (set model.latent_dim=2)")
            return
        with eval_mode(pl_module):
            images = pl_module.decode(quantile_grid(GRID, pl_module.device))
        grid = image_grid(images, pl_module.data_info.value_range, nrow=GRID)
        log_picture(trainer, "images/latent_manifold", grid,
                    f"decoded z at N(0,1) quantiles {0.5 / GRID:.3f}..{1 - 0.5 / GRID:.3f}; z[0] right, z[1] up")
