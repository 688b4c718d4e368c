"""Adversarial losses on discriminator logits (one per patch), as in pix2pix/CycleGAN's ``GANLoss``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

GAN_MODES = ("lsgan", "vanilla")


def gan_loss(logits: torch.Tensor, target_is_real: bool, mode: str = "lsgan") -> torch.Tensor:
    """``lsgan``: mean squared distance of the logits to 1 (real) or 0 (fake); ``vanilla``: binary cross-entropy
    with logits against the same labels. Averaged over patches and batch."""
    target = torch.full_like(logits, 1.0 if target_is_real else 0.0)
    if mode == "lsgan":
        return F.mse_loss(logits, target)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(logits, target)
    raise ValueError(f"unknown gan mode {mode!r}; one of {', '.join(GAN_MODES)}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, mode: str = "lsgan") -> torch.Tensor:
    """0.5 (real + fake): halved so the discriminator learns more slowly than the generator."""
    return 0.5 * (gan_loss(real_logits, True, mode) + gan_loss(fake_logits, False, mode))
