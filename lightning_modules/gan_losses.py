"""GAN objectives on raw discriminator outputs (logits, one per image or per patch), so they are safe under
autocast. Shared by the GAN and CycleGAN (whose ``lsgan`` / ``vanilla`` modes are ``lsgan`` / ``non_saturating``).

Each discriminator loss is the mean of its real and fake terms. ``discriminator_probability`` maps the
discriminator's output to "how real it looks" in [0, 1], where 0.5 is the equilibrium D(x) = D(G(z)) of
every objective: sigmoid for the log-likelihood objectives and hinge, clamping for LSGAN (whose
discriminator regresses onto the labels 1 and 0 directly).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lightning_modules.schemas import GAN_LOSSES


def _check(kind: str) -> None:
    if kind not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}; one of {', '.join(GAN_LOSSES)}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """``minimax``/``non_saturating``: binary cross-entropy, real -> 1, fake -> 0 (-log D(x), -log(1 - D(G(z))));
    ``lsgan`` (Mao et al. 2017): (D(x) - 1)^2 and D(G(z))^2; ``hinge``: relu(1 - D(x)) and relu(1 + D(G(z)))."""
    _check(kind)
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if kind == "lsgan":
        real, fake = (real_logits - 1).pow(2).mean(), fake_logits.pow(2).mean()
    elif kind == "hinge":
        real, fake = F.relu(1 - real_logits).mean(), F.relu(1 + fake_logits).mean()
    else:
        real, fake = F.softplus(-real_logits).mean(), F.softplus(fake_logits).mean()
    return 0.5 * (real + fake)


def generator_loss(fake_logits: torch.Tensor, kind: str) -> torch.Tensor:
    """``minimax``: log(1 - D(G(z))) (the original objective; its gradient vanishes while D wins);
    ``non_saturating``: -log D(G(z)) (labels fakes as real); ``lsgan``: (D(G(z)) - 1)^2, as the official
    CycleGAN/pix2pix code has it (Mao et al. write a factor 1/2, which Adam's steps ignore but which would halve
    the adversarial term against CycleGAN's cycle loss); ``hinge``: -D(G(z))."""
    _check(kind)
    fake_logits = fake_logits.float()
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    if kind == "lsgan":
        return (fake_logits - 1).pow(2).mean()
    return -fake_logits.mean()


def discriminator_probability(logits: torch.Tensor, kind: str) -> torch.Tensor:
    _check(kind)
    logits = logits.float()
    return logits.clamp(0, 1) if kind == "lsgan" else torch.sigmoid(logits)


def r1_penalty(real: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): the mean over real images of ||grad_x D(x)||^2, kept differentiable so that
    D's backward minimizes it. ``real`` must require grad and ``real_logits`` be D's outputs on it (one or more
    per image: a patch D's outputs are summed per image, as their gradients add)."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()
