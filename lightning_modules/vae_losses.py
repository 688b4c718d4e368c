"""The VAE's probability terms as pure functions, in nats, summed over each image's pixels or latent dims.

Shapes: ``mu``/``logvar``/``z`` are (..., d); images ``x`` are (B, C, H, W) and decoder outputs may carry
leading sample dims, (S, B, C, H, W), which broadcast against ``x``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, num_samples: int | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): differentiable in mu and logvar. With ``num_samples`` the
    result gets a leading sample dim, (S, B, d)."""
    shape = mu.shape if num_samples is None else (num_samples, *mu.shape)
    eps = torch.randn(shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) = 0.5 sum(mu^2 + sigma^2 - 1 - log sigma^2), over the last dim."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)), summed over the last dim."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dim."""
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


def _sum_image(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return values.sum(dim=tuple(range(-(x.dim() - 1), 0)))


def bernoulli_log_likelihood(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x; sigmoid(logits)) per image: x * logits - softplus(logits), stable for any logit."""
    return _sum_image(x * logits - F.softplus(logits), x)


def gaussian_log_likelihood(mean: torch.Tensor, x: torch.Tensor, log_std: torch.Tensor | float) -> torch.Tensor:
    """log N(x; mean, std^2 I) per image (a density: not comparable with Bernoulli nats)."""
    log_std = torch.as_tensor(log_std, dtype=mean.dtype, device=mean.device)
    return _sum_image(-0.5 * LOG_2PI - log_std - 0.5 * ((x - mean) * torch.exp(-log_std)).pow(2), x)


def kl_weight(step: int, beta: float, warmup_steps: int) -> float:
    """The KL term's weight: ``beta``, ramped linearly from 0 over the first ``warmup_steps`` training steps."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


def bits_per_dim(nll: torch.Tensor, num_dims: int, value_range: tuple[float, float], discrete: bool) -> torch.Tensor:
    """Negative log-likelihoods in nats per image -> bits per dimension of the 8-bit image.

    A discrete likelihood (Bernoulli on binary pixels) gives probabilities: nll / (D ln 2). A density on pixels in
    [lo, hi] is turned into probabilities of the 256 levels of each value, each (hi - lo) / 256 wide (the
    dequantisation view of Theis et al. 2016): -log P = nll + D log(256 / (hi - lo)), then / (D ln 2)."""
    lo, hi = value_range
    offset = 0.0 if discrete else num_dims * math.log(256 / (hi - lo))
    return (nll + offset) / (num_dims * math.log(2))
