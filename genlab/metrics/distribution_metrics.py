"""KID, FID and MiFID of translated images against real ones, all fed from one pass of the feature extractor."""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance
from torchmetrics.image.mifid import MemorizationInformedFrechetInceptionDistance

from genlab.metrics.image_features import PrecomputedFeatures


class DistributionMetrics(nn.Module):
    """Accumulates (real, fake) features of one translation direction. ``compute`` gives ``kid``, ``kid_std``,
    ``fid`` and, with ``mifid=True``, ``mifid`` (the Kaggle Monet competition's score).

    KID averages ``kid_subsets`` random subsets of ``kid_subset_size`` images, capped at the number of images on
    the smaller side (a test split of 20 paintings allows 20); the subsets are drawn from ``seed`` so the same
    features always give the same number. FID from a few dozen images is strongly biased upwards: compare it only
    between runs with the same test split.
    """

    def __init__(self, num_features: int, kid_subsets: int = 100, kid_subset_size: int = 1000, mifid: bool = False,
                 seed: int = 0):
        super().__init__()
        self.kid_subset_size, self.seed = kid_subset_size, seed
        identity = PrecomputedFeatures(num_features)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.kid = KernelInceptionDistance(feature=identity, subsets=kid_subsets, subset_size=kid_subset_size)
        self.fid = FrechetInceptionDistance(feature=identity)
        self.mifid = MemorizationInformedFrechetInceptionDistance(feature=identity) if mifid else None

    def reset(self) -> None:
        for metric in filter(None, (self.kid, self.fid, self.mifid)):
            metric.reset()

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        for metric in filter(None, (self.kid, self.fid, self.mifid)):
            if len(real):
                metric.update(real, real=True)
            if len(fake):
                metric.update(fake, real=False)

    def compute(self) -> dict[str, torch.Tensor]:
        n = min(len(torch.cat(self.kid.real_features)) if self.kid.real_features else 0,
                len(torch.cat(self.kid.fake_features)) if self.kid.fake_features else 0)
        if n < 2:
            raise ValueError(f"distribution metrics need at least 2 real and 2 translated images, got {n}")
        self.kid.subset_size = min(self.kid_subset_size, n)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            kid, kid_std = self.kid.compute()
        out = {"kid": kid, "kid_std": kid_std, "fid": self.fid.compute()}
        if self.mifid is not None:
            out["mifid"] = self.mifid.compute()
        return out


class ImageSampleMetrics:
    """Generated images against real ones of any image data, in one extractor's feature space: the interface of
    ``SampleMetrics`` (``update_real``/``update_fake``/``update_floor``, ``compute``) without its MNIST class
    statistics. ``compute`` -> fid, kid, kid_std, with ``mifid`` mifid, and with ``floor`` fid_floor and
    kid_floor: the same distances between the real images and other real ones (the training split), the number
    a generator's score is read against. Each batch passes the extractor once and feeds every metric.
    A plain object, so a LightningModule holding it keeps the extractor out of its checkpoints."""

    def __init__(self, extractor: nn.Module, kid_subsets: int = 100, kid_subset_size: int = 1000,
                 mifid: bool = False, floor: bool = False):
        self.extractor = extractor.eval()
        n = extractor.num_features
        self.samples = DistributionMetrics(n, kid_subsets, kid_subset_size, mifid=mifid)
        self.floor = DistributionMetrics(n, kid_subsets, kid_subset_size) if floor else None

    def _parts(self) -> list[nn.Module]:
        return [m for m in (self.extractor, self.samples, self.floor) if m is not None]

    def to(self, device: torch.device) -> ImageSampleMetrics:
        for module in self._parts():
            module.to(device)
        return self

    def reset(self) -> None:
        for metrics in filter(None, (self.samples, self.floor)):
            metrics.reset()

    def _none(self, features: torch.Tensor) -> torch.Tensor:
        return features[:0]

    @torch.no_grad()
    def update_real(self, x: torch.Tensor) -> None:
        features = self.extractor(x)
        for metrics in filter(None, (self.samples, self.floor)):
            metrics.update(real=features, fake=self._none(features))

    @torch.no_grad()
    def update_fake(self, x: torch.Tensor) -> None:
        features = self.extractor(x)
        self.samples.update(real=self._none(features), fake=features)

    @torch.no_grad()
    def update_floor(self, x: torch.Tensor) -> None:
        features = self.extractor(x)
        self.floor.update(real=self._none(features), fake=features)

    def compute(self) -> dict[str, float]:
        out = {k: float(v) for k, v in self.samples.compute().items()}
        if self.floor is not None:
            floor = self.floor.compute()
            out.update(fid_floor=float(floor["fid"]), kid_floor=float(floor["kid"]))
        return out
