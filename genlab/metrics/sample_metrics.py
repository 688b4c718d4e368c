"""FID, KID and class statistics of generated images against real ones, with the MNIST classifier's
penultimate layer as the feature space (``features="classifier"``, offline) or one of the extractors of
``genlab.metrics.image_features`` (``inception``, ``inception_torchscript``, ``pixels``).

``ClassifierFeatures`` takes images as the generator makes them (its pixel range, 28 or 32 px). Metric states
sum or gather over DDP processes in ``compute``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genlab.metrics.class_statistics import ClassStatistics
from genlab.metrics.distribution_metrics import DistributionMetrics
from genlab.metrics.image_features import build_feature_extractor
from genlab.metrics.mnist_classifier import MNISTClassifier


def to_classifier_input(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Float images in ``value_range`` -> [0, 1] at 28x28 (a 32x32 MNIST image is a 28x28 one padded by 2)."""
    lo, hi = value_range
    x = ((x.float() - lo) / (hi - lo)).clamp(0, 1)
    size = x.shape[-1]
    if size != 28:
        if size != 32:
            raise ValueError(f"the MNIST classifier takes 28x28 or 32x32 images, not {size}x{size}")
        x = x[..., 2:30, 2:30]
    return x


class ClassifierFeatures(nn.Module):
    """Images -> the classifier's features and logits in one pass; always in float32, also inside an autocast
    region, so features are never rounded to half precision."""

    def __init__(self, classifier: MNISTClassifier, value_range: tuple[float, float]):
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.value_range = value_range
        self.num_features = classifier.num_features

    def train(self, mode: bool = True) -> ClassifierFeatures:
        return super().train(False)  # a feature extractor stays in eval mode (dropout off)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(x.device.type, enabled=False):
            features = self.classifier.features(to_classifier_input(x, self.value_range))
            return features, self.classifier.classify(features)

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self(x)[1], dim=1)


class SampleMetrics:
    """Real images go in with ``update_real``, generated ones with ``update_fake``, and (for the real-vs-real
    floor) other real images with ``update_floor``. ``compute`` -> fid, classifier_is, class_coverage,
    class_kl, and with ``kid``: kid, kid_std; with ``floor``: fid_floor.

    Each batch goes through the feature extractor (and, for generated images, the classifier) once; FID and KID
    (``DistributionMetrics``) and the class statistics take those features.
    A plain object rather than an ``nn.Module``, so a LightningModule holding it does not save the feature
    network in its checkpoints.
    """

    def __init__(self, classifier: MNISTClassifier, value_range: tuple[float, float], features: str = "classifier",
                 kid: bool = True, floor: bool = True, kid_subset_size: int = 1000, kid_subsets: int = 100,
                 inception_weights: str | None = None):
        self.classifier = ClassifierFeatures(classifier, value_range)
        # None: the classifier's own features, from the pass that also gives the class statistics' logits
        self.extractor = None if features == "classifier" else \
            build_feature_extractor(features, inception_weights, value_range)
        num_features = (self.extractor or self.classifier).num_features
        self.samples = DistributionMetrics(num_features, kid_subsets, kid_subset_size, kid=kid)
        self.floor = DistributionMetrics(num_features, kid=False) if floor else None
        self.class_stats = ClassStatistics()

    def _metrics(self) -> list:
        return [m for m in (self.samples, self.floor, self.class_stats) if m is not None]

    def to(self, device: torch.device) -> SampleMetrics:
        for module in filter(None, (self.classifier, self.extractor, *self._metrics())):
            module.to(device)
        return self

    def reset(self) -> None:
        for m in self._metrics():
            m.reset()

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)[0] if self.extractor is None else self.extractor(x)

    @torch.no_grad()
    def update_real(self, x: torch.Tensor) -> None:
        features = self._features(x)
        for metrics in filter(None, (self.samples, self.floor)):
            metrics.update(real=features, fake=features[:0])

    @torch.no_grad()
    def update_fake(self, x: torch.Tensor) -> None:
        classifier_features, logits = self.classifier(x)
        features = classifier_features if self.extractor is None else self.extractor(x)
        self.class_stats.update(F.softmax(logits, dim=1))
        self.samples.update(real=features[:0], fake=features)

    @torch.no_grad()
    def update_floor(self, x: torch.Tensor) -> None:
        features = self._features(x)
        self.floor.update(real=features[:0], fake=features)

    def compute(self) -> dict[str, float]:
        out = {k: float(v) for k, v in self.samples.compute().items()}
        out.update(self.class_stats.compute())
        if self.floor is not None:
            out["fid_floor"] = float(self.floor.compute()["fid"])
        return out
