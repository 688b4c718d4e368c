"""Scatter of the test set's codes in 2-D (the first two dims, or PCA of them), coloured by label."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure

from genlab.callbacks._helpers import eval_mode, first_test_images
from genlab.callbacks.images import PictureCallback, log_picture

MAX_POINTS = 10000


def project_2d(codes: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Codes (N, d) -> (N, 2): unchanged for d <= 2 (d = 1 gets a zero second axis), PCA otherwise."""
    if codes.shape[1] == 2:
        return codes, "z[0], z[1]"
    if codes.shape[1] == 1:
        return torch.cat([codes, torch.zeros_like(codes)], dim=1), "z[0]"
    centered = codes - codes.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(centered, full_matrices=False)
    return centered @ v[:2].T, "PCA 1, PCA 2"


def scatter_figure(points: torch.Tensor, labels: torch.Tensor, axes: str, title: str) -> Figure:
    fig = Figure(figsize=(6, 5.5))
    ax = fig.subplots()
    sc = ax.scatter(points[:, 0].numpy(), points[:, 1].numpy(), c=labels.numpy(), cmap="tab10", s=3, alpha=0.7)
    fig.colorbar(sc, ax=ax, ticks=range(int(labels.max()) + 1), label="label")
    ax.set_xlabel(axes.split(", ")[0])
    ax.set_ylabel(axes.split(", ")[-1])
    ax.set_title(title)
    return fig


class LatentScatter(PictureCallback):
    """At the end of training. Needs ``pl_module.encode(x)`` -> codes (N, d) and labelled test batches."""

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        x, labels = first_test_images(trainer, MAX_POINTS)
        with eval_mode(pl_module):
            codes = torch.cat([pl_module.encode(chunk.to(pl_module.device)).float().cpu() for chunk in x.split(1000)])
        points, axes = project_2d(codes)
        fig = scatter_figure(points, labels, axes, f"test codes ({axes}), coloured by digit")
        log_picture(trainer, "images/latent_scatter", fig)
