"""FID, KID and class statistics of generated images against real ones, with the MNIST classifier's
penultimate layer as the feature space (``features="classifier"``, offline) or one of the extractors of
``genlab.metrics.image_features`` (``inception``, ``inception_torchscript``, ``pixels``).

torchmetrics hands images to a custom feature module unchanged, so ``ClassifierFeatures`` takes images as
the generator makes them (its pixel range, 28 or 32 px) and gives the module a ``num_features`` attribute
(torchmetrics reads it instead of probing the module with a dummy uint8 image). Metric states sum or gather
over DDP processes in ``compute``.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.aggregation import SumMetric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from genlab.metrics.class_statistics import ClassStatistics
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
    """Images -> the classifier's features (what FID/KID call), or class probabilities; always in float32,
    also inside an autocast region, so features are never rounded to half precision.

    FID, floor FID, KID and the class statistics all see the same batch object in turn, so the last batch's
    features and logits are kept and reused: one classifier pass per image instead of up to three.
    """

    def __init__(self, classifier: MNISTClassifier, value_range: tuple[float, float]):
        super().__init__()
        self.classifier = classifier.eval().requires_grad_(False)
        self.value_range = value_range
        self.num_features = classifier.num_features
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def train(self, mode: bool = True) -> ClassifierFeatures:
        return super().train(False)  # a feature extractor stays in eval mode (dropout off)

    @torch.no_grad()
    def _features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self._last is None or self._last[0] is not x:
            with torch.autocast(x.device.type, enabled=False):
                features = self.classifier.features(to_classifier_input(x, self.value_range))
                self._last = (x, features, self.classifier.classify(features))
        return self._last[1], self._last[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._features_and_logits(x)[0]

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self._features_and_logits(x)[1], dim=1)

    def forget(self) -> None:
        self._last = None


class SampleMetrics:
    """Real images go in with ``update_real``, generated ones with ``update_fake``, and (for the real-vs-real
    floor) other real images with ``update_floor``. ``compute`` -> fid, classifier_is, class_coverage,
    class_kl, and with ``kid``: kid, kid_std; with ``floor``: fid_floor.

    A plain object rather than an ``nn.Module``, so a LightningModule holding it does not save the feature
    network in its checkpoints.
    """

    def __init__(self, classifier: MNISTClassifier, value_range: tuple[float, float], features: str = "classifier",
                 kid: bool = True, floor: bool = True, kid_subset_size: int = 1000, kid_subsets: int = 100,
                 inception_weights: str | None = None):
        self.classifier = ClassifierFeatures(classifier, value_range)
        extractor = self.classifier if features == "classifier" else \
            build_feature_extractor(features, inception_weights, value_range)
        self.kid_subset_size = kid_subset_size
        with warnings.catch_warnings():  # KID's warning that it keeps every feature: known, and small here
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.fid = FrechetInceptionDistance(feature=extractor)
            self.fid_floor = FrechetInceptionDistance(feature=extractor) if floor else None
            self.kid = KernelInceptionDistance(feature=extractor, subsets=kid_subsets) if kid else None
        self.class_stats = ClassStatistics()
        self.num_real, self.num_fake = SumMetric(), SumMetric()

    def _metrics(self) -> list:
        return [m for m in (self.fid, self.fid_floor, self.kid, self.class_stats, self.num_real, self.num_fake)
                if m is not None]

    def to(self, device: torch.device) -> SampleMetrics:
        self.classifier.to(device)
        for m in self._metrics():
            m.to(device)
        return self

    def reset(self) -> None:
        self.classifier.forget()
        for m in self._metrics():
            m.reset()

    @torch.no_grad()
    def update_real(self, x: torch.Tensor) -> None:
        for m in (self.fid, self.fid_floor, self.kid):
            if m is not None:
                m.update(x, real=True)
        self.num_real.update(len(x))

    @torch.no_grad()
    def update_fake(self, x: torch.Tensor) -> None:
        self.class_stats.update(self.classifier.probabilities(x))
        self.fid.update(x, real=False)
        if self.kid is not None:
            self.kid.update(x, real=False)
        self.num_fake.update(len(x))

    @torch.no_grad()
    def update_floor(self, x: torch.Tensor) -> None:
        self.fid_floor.update(x, real=False)

    def compute(self) -> dict[str, float]:
        out = {"fid": float(self.fid.compute()), **self.class_stats.compute()}
        if self.kid is not None:
            # KID draws subsets of subset_size from each set; small evaluations get smaller subsets
            self.kid.subset_size = int(min(self.kid_subset_size, self.num_real.compute(), self.num_fake.compute()))
            kid, kid_std = self.kid.compute()
            out.update(kid=float(kid), kid_std=float(kid_std))
        if self.fid_floor is not None:
            out["fid_floor"] = float(self.fid_floor.compute())
        return out
