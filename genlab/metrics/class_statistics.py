"""Class statistics of generated images, from a classifier's predicted probabilities (N, K).

Pure functions, plus ``ClassStatistics``, a torchmetrics ``Metric`` that gathers the probabilities of every
process (DDP) before applying them.
"""

from __future__ import annotations

import math

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


def class_histogram(probs: torch.Tensor) -> torch.Tensor:
    """Share of samples predicted as each class (argmax), shape (K,)."""
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double()
    return counts / counts.sum()


def class_coverage(probs: torch.Tensor, min_share: float = 0.1) -> int:
    """Classes predicted for at least ``min_share`` of their uniform share (1/K) of the samples: a mode the
    generator only hits by the classifier's occasional mistake does not count as covered."""
    return int((class_histogram(probs) >= min_share / probs.shape[1]).sum())


def kl_to_uniform(histogram: torch.Tensor) -> float:
    """KL(h || uniform) = sum_k h_k log(K h_k) in nats; 0 when every class is equally frequent, log K for one."""
    h = histogram.double()
    nonzero = h > 0
    return float((h[nonzero] * torch.log(h[nonzero] * len(h))).sum())


def inception_score(probs: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))) with p(y) the mean prediction: from 1 (uninformative or one class) to K
    (confident predictions spread evenly over the K classes)."""
    p = probs.double()
    marginal = p.mean(0, keepdim=True)
    kl = torch.where(p > 0, p * (torch.log(p) - torch.log(marginal)), torch.zeros_like(p)).sum(1)
    return math.exp(float(kl.mean()))


class ClassStatistics(Metric):
    """``update(probs)`` per batch; ``compute()`` -> classifier_is, class_coverage, class_kl."""

    full_state_update = False

    def __init__(self, min_share: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.min_share = min_share
        self.add_state("probs", default=[], dist_reduce_fx="cat")

    def update(self, probs: torch.Tensor) -> None:
        self.probs.append(probs.detach().float())

    def compute(self) -> dict[str, float]:
        probs = dim_zero_cat(self.probs)
        return {"classifier_is": inception_score(probs), "class_coverage": float(class_coverage(probs, self.min_share)),
                "class_kl": kl_to_uniform(class_histogram(probs))}
