"""KID, FID and MiFID of translated images against real ones, all fed from one pass of the feature extractor."""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torchmetrics.aggregation import SumMetric
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance
from torchmetrics.image.mifid import MemorizationInformedFrechetInceptionDistance

from genlab.metrics.image_features import PrecomputedFeatures


class DistributionMetrics(nn.Module):
    """The one holder of FID and KID: accumulates (real, fake) features of two image sets. ``compute`` gives
    ``fid``, with ``kid=True`` (default) ``kid`` and ``kid_std``, and with ``mifid=True`` ``mifid`` (the Kaggle Monet
    competition's score).

    KID averages ``kid_subsets`` random subsets of ``kid_subset_size`` images, capped at the number of images on
    the smaller side, counted over every DDP process (a test split of 20 paintings allows 20); the subsets are
    drawn from ``seed`` so the same features always give the same number. FID from a few dozen images is strongly
    biased upwards: compare it only between runs with the same test split.
    """

    def __init__(self, num_features: int, kid_subsets: int = 100, kid_subset_size: int = 1000, mifid: bool = False,
                 seed: int = 0, kid: bool = True):
        super().__init__()
        self.kid_subset_size, self.seed = kid_subset_size, seed
        identity = PrecomputedFeatures(num_features)
        with warnings.catch_warnings():  # KID's warning that it keeps every feature: known, and small here
            warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
            self.kid = KernelInceptionDistance(feature=identity, subsets=kid_subsets,
                                               subset_size=kid_subset_size) if kid else None
        self.fid = FrechetInceptionDistance(feature=identity)
        self.mifid = MemorizationInformedFrechetInceptionDistance(feature=identity) if mifid else None
        self.num_real, self.num_fake = SumMetric(), SumMetric()

    def _distances(self) -> list:
        return [m for m in (self.kid, self.fid, self.mifid) if m is not None]

    def reset(self) -> None:
        for metric in (*self._distances(), self.num_real, self.num_fake):
            metric.reset()

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        for metric in self._distances():
            if len(real):
                metric.update(real, real=True)
            if len(fake):
                metric.update(fake, real=False)
        self.num_real.update(len(real))
        self.num_fake.update(len(fake))

    def compute(self) -> dict[str, torch.Tensor]:
        n = int(min(self.num_real.compute(), self.num_fake.compute()))
        if n < 2:
            raise ValueError(f"distribution metrics need at least 2 real and 2 generated images, got {n}")
        out = {"fid": self.fid.compute()}
        if self.kid is not None:
            self.kid.subset_size = min(self.kid_subset_size, n)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                out["kid"], out["kid_std"] = self.kid.compute()
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
