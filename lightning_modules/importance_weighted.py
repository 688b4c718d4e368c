"""Importance-weighted bounds on log p(x) (Burda et al. 2015), with q(z|x) as the proposal.

log p(x) >= E[log (1/k) sum_k w_k] with w_k = p(x, z_k) / q(z_k | x): k = 1 is the ELBO, and the bound
tightens as k grows. The evaluation estimator draws the k samples in chunks and combines them with
logsumexp, so k = 5000 needs the memory of one chunk only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lightning_modules.vae_losses import log_normal_diag, log_standard_normal, reparameterize


def log_importance_weights(log_likelihood: torch.Tensor, z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                           kl_weight: float = 1.0) -> torch.Tensor:
    """log w = log p(x|z) + kl_weight * (log p(z) - log q(z|x)); ``log_likelihood`` (S, B), ``z`` (S, B, d)."""
    return log_likelihood + kl_weight * (log_standard_normal(z) - log_normal_diag(z, mu, logvar))


def log_mean_exp(log_w: torch.Tensor, dim: int = 0) -> torch.Tensor:
    return torch.logsumexp(log_w, dim) - math.log(log_w.shape[dim])


def iw_log_likelihood(log_px_given_z: Callable[[torch.Tensor], torch.Tensor], mu: torch.Tensor,
                      logvar: torch.Tensor, num_samples: int, chunk: int,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The k-sample estimate of log p(x) per image, and the mean of log p(x|z_k) over the same samples.

    ``log_px_given_z`` maps z (S, B, d) to log p(x|z) (S, B); it is called with at most ``chunk`` samples
    per image at a time.
    """
    chunk_lse, ll_sum = [], torch.zeros_like(mu[:, 0])
    for start in range(0, num_samples, chunk):
        z = reparameterize(mu, logvar, min(chunk, num_samples - start), generator)
        ll = log_px_given_z(z)
        chunk_lse.append(torch.logsumexp(log_importance_weights(ll, z, mu, logvar), 0))
        ll_sum = ll_sum + ll.sum(0)
    return torch.logsumexp(torch.stack(chunk_lse), 0) - math.log(num_samples), ll_sum / num_samples
