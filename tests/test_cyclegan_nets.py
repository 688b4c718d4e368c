"""The official networks: exact parameter counts, shapes, normalisation and initialisation."""

import pytest
import torch
from torch import nn

from lightning_modules.nets.init import init_normal_
from lightning_modules.nets.patch_discriminator import PatchDiscriminator
from lightning_modules.nets.resnet_generator import ResnetGenerator


def count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_official_parameter_counts():
    # the numbers the official resnet_9blocks / basic networks print with ngf = ndf = 64
    assert count(ResnetGenerator(3, 3, ngf=64, n_blocks=9)) == 11_378_179
    assert count(PatchDiscriminator(3, ndf=64, n_layers=3)) == 2_764_737


def test_generator_is_fully_convolutional_and_bounded():
    g = init_normal_(ResnetGenerator(3, 3, ngf=8, n_blocks=1))
    for h, w in ((32, 32), (36, 44)):  # any size divisible by 4
        y = g(torch.randn(2, 3, h, w) * 3)
        assert y.shape == (2, 3, h, w)
        assert y.abs().max() <= 1.0


def test_patch_discriminator_gives_a_grid_of_logits():
    # three stride-2 convs divide by 8, the two stride-1 4x4 convs with padding 1 each drop one row and column
    d = init_normal_(PatchDiscriminator(3, ndf=8, n_layers=3))
    for size in (64, 256):
        assert d(torch.randn(1, 3, size, size)).shape == (1, 1, size // 8 - 2, size // 8 - 2)
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())


def test_instance_norm_has_no_parameters_or_running_stats_and_convs_keep_bias():
    g = ResnetGenerator(3, 3, ngf=8, n_blocks=1)
    norms = [m for m in g.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(not m.affine and not m.track_running_stats for m in norms)
    assert all(m.bias is not None for m in g.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d))
    assert not any(isinstance(m, nn.Dropout) for m in g.modules())
    bn = ResnetGenerator(3, 3, ngf=8, n_blocks=1, norm="batch")
    # BatchNorm's shift replaces the bias, except on the output conv that has no norm after it
    convs = [m for m in bn.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert [m.bias is not None for m in convs] == [False] * (len(convs) - 1) + [True]


def test_init_is_normal_002_with_zero_bias():
    torch.manual_seed(0)
    net = init_normal_(nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64)), gain=0.02)
    conv, bn = net
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert conv.weight.mean().abs().item() < 1e-3
    assert torch.all(conv.bias == 0) and torch.all(bn.bias == 0)
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
