"""Small CNN digit classifier whose penultimate layer is the feature space of genlab's MNIST FID/KID."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch
from torch import nn

from genlab.core.errors import CheckpointError
from genlab.core.schema import ClassifierConfig


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


def build_classifier(cfg: ClassifierConfig) -> MNISTClassifier:
    return MNISTClassifier(tuple(cfg.channels), cfg.num_features, cfg.dropout)


def load_classifier(path: str | Path) -> tuple[MNISTClassifier, dict]:
    """The network (eval mode, no gradients) and the file's metadata (config, test_accuracy)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"classifier checkpoint {path} does not exist; make one with scripts/train_classifier.py")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        cfg = ClassifierConfig(**saved["config"])
        net = build_classifier(cfg)
        net.load_state_dict(saved["state_dict"])
    except (RuntimeError, KeyError, TypeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"classifier checkpoint {path} is unreadable ({reason[:200]}); delete it and run "
                              "scripts/train_classifier.py") from None
    net.eval().requires_grad_(False)
    return net, {"config": cfg, "test_accuracy": saved.get("test_accuracy")}
