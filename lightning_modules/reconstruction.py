"""Reconstruction losses on raw decoder outputs (logits), per-pixel means."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lightning_modules.schemas import RECONSTRUCTION_LOSSES


def to_unit(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    lo, hi = value_range
    return (x - lo) / (hi - lo)


def logits_to_range(logits: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """The autoencoder's one map from logits to pixels: a sigmoid scaled onto ``value_range``. It is the map
    BCE assumes (sigmoid(logit) is the target's position in [0, 1]), so the MSE loss, ``val/mse`` and the
    pictures all see the output the loss trains."""
    lo, hi = value_range
    return lo + (hi - lo) * torch.sigmoid(logits)


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, kind: str,
                        value_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """``bce``: binary cross-entropy of the logits against the target scaled to [0, 1] (grey levels are
    soft labels); ``mse``: squared error of ``logits_to_range``'s output. Both averaged over pixels and batch."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, to_unit(target, value_range))
    if kind == "mse":
        return F.mse_loss(logits_to_range(logits, value_range), target)
    raise ValueError(f"unknown reconstruction loss {kind!r}; one of {', '.join(RECONSTRUCTION_LOSSES)}")
