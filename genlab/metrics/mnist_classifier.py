"""Small CNN digit classifier whose penultimate layer is the feature space of genlab's MNIST FID/KID."""

from __future__ import annotations

import torch
from torch import nn


class MNISTClassifier(nn.Module):
    """28x28 images in [0, 1] -> 10 logits; ``features`` gives the ``num_features``-dim penultimate layer.

    Two [conv 5x5 + BatchNorm + ReLU + 2x2 max-pool] stages, then a ReLU linear layer (the features), dropout
    and the class layer.
    """

    def __init__(self, channels: tuple[int, int] = (32, 64), num_features: int = 128, dropout: float = 0.0):
        super().__init__()
        c1, c2 = channels
        self.num_features = num_features
        self.trunk = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2, bias=False), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=2, bias=False), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * 7 * 7, num_features), nn.ReLU(),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_features, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits from ``features(x)``."""
        return self.head(self.dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))
