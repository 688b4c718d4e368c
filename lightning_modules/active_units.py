"""Active latent units (Burda et al. 2015): dims u whose posterior mean moves with the input,
Cov_x(E_q[z_u | x]) > threshold (0.01)."""

from __future__ import annotations

import torch
from torchmetrics import Metric

THRESHOLD = 0.01


def count_active_units(variance: torch.Tensor, threshold: float = THRESHOLD) -> torch.Tensor:
    """Number of dims whose variance over the data set exceeds ``threshold``."""
    return (variance > threshold).sum()


class ActiveUnits(Metric):
    """Accumulates the posterior means of a data set in running sums (float64, synced under DDP), so the
    variance needs no second pass and no stored codes."""

    full_state_update = False

    def __init__(self, latent_dim: int, threshold: float = THRESHOLD):
        super().__init__()
        self.threshold = threshold
        self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", torch.zeros(latent_dim, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total_sq", torch.zeros(latent_dim, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, mu: torch.Tensor) -> None:
        mu = mu.detach().double()
        self.count += mu.shape[0]
        self.total += mu.sum(0)
        self.total_sq += mu.pow(2).sum(0)

    def variance(self) -> torch.Tensor:
        mean = self.total / self.count
        return (self.total_sq / self.count - mean.pow(2)).clamp_min(0)

    def compute(self) -> torch.Tensor:
        return count_active_units(self.variance(), self.threshold)
