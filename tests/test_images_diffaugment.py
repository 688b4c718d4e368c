"""DiffAugment against the paper's policy definitions (Zhao et al. 2020; official DiffAugment_pytorch.py), on fixed
inputs whose results are worked out by hand."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.diffaugment import (
    brightness,
    contrast,
    cutout,
    diff_augment,
    saturation,
    translate,
)
from lightning_modules.schemas import parse_policy


def test_brightness_adds_each_images_shift():
    x = torch.zeros(2, 3, 2, 2)
    out = brightness(x, torch.tensor([0.25, -0.5]))
    assert torch.equal(out[0], torch.full((3, 2, 2), 0.25)) and torch.equal(out[1], torch.full((3, 2, 2), -0.5))


def test_saturation_scales_the_distance_from_the_channel_mean():
    # one pixel (r, g, b) = (0.3, 0.6, 0.9): channel mean 0.6; factor 0 greys it, 2 doubles the distances
    x = torch.tensor([0.3, 0.6, 0.9]).view(1, 3, 1, 1).repeat(2, 1, 1, 1)
    out = saturation(x, torch.tensor([0.0, 2.0]))
    assert torch.allclose(out[0].flatten(), torch.tensor([0.6, 0.6, 0.6]))
    assert torch.allclose(out[1].flatten(), torch.tensor([0.0, 0.6, 1.2]), atol=1e-6)


def test_contrast_scales_the_distance_from_the_image_mean():
    # values 0, 1, 2, 3 in one channel: mean 1.5; factor 0.5 -> 0.75, 1.25, 1.75, 2.25
    x = torch.arange(4.0).view(1, 1, 2, 2)
    assert torch.allclose(contrast(x, torch.tensor([0.5])).flatten(), torch.tensor([0.75, 1.25, 1.75, 2.25]))


def test_translation_moves_a_known_image_by_a_known_offset_with_zeros_moving_in():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4)  # 1..16 row by row
    down_left = translate(x, torch.tensor([1]), torch.tensor([-1]))
    assert torch.equal(down_left[0, 0], torch.tensor([[0.0, 0, 0, 0], [2, 3, 4, 0], [6, 7, 8, 0], [10, 11, 12, 0]]))
    assert torch.equal(translate(x, torch.tensor([0]), torch.tensor([0])), x)
    # per image: the second image moves up by 2, the first stays
    two = translate(torch.cat([x, x]), torch.tensor([0, -2]), torch.tensor([0, 0]))
    assert torch.equal(two[0], x[0])
    assert torch.equal(two[1, 0], torch.tensor([[9.0, 10, 11, 12], [13, 14, 15, 16], [0, 0, 0, 0], [0, 0, 0, 0]]))


def test_cutout_zeroes_a_known_square_clipped_at_the_border():
    ones = torch.ones(2, 2, 4, 4)
    # a 2x2 square centred at (2, 2): top-left (1, 1); centred at (0, 3): rows -1..0, cols 2..3 -> clipped to row 0
    out = cutout(ones, torch.tensor([2, 0]), torch.tensor([2, 3]), (2, 2))
    first = torch.ones(4, 4)
    first[1:3, 1:3] = 0
    second = torch.ones(4, 4)
    second[0, 2:4] = 0
    assert torch.equal(out[0, 0], first) and torch.equal(out[0, 1], first) and torch.equal(out[1, 0], second)


def test_policy_draws_follow_the_papers_ranges_and_order():
    """``diff_augment`` equals the pure functions applied to the paper's draws, taken from torch's generator in
    the official order: brightness U(-0.5, 0.5), saturation U(0, 2), contrast U(0.5, 1.5), translation
    U{-r..r} with r = round(side / 8) (rows, then columns), cutout centre U{0..side} for an even half-side
    square."""
    x = torch.rand(5, 3, 16, 16)
    torch.manual_seed(7)
    out = diff_augment(x, ("color", "translation", "cutout"))
    torch.manual_seed(7)
    b, s, c = torch.rand(5) - 0.5, torch.rand(5) * 2, torch.rand(5) + 0.5
    dy, dx = torch.randint(-2, 3, (5,)), torch.randint(-2, 3, (5,))
    cy, cx = torch.randint(0, 17, (5,)), torch.randint(0, 17, (5,))
    expected = cutout(translate(contrast(saturation(brightness(x, b), s), c), dy, dx), cy, cx, (8, 8))
    assert torch.allclose(out, expected)


def test_brightness_is_scaled_to_the_data_range():
    x = torch.zeros(4, 1, 2, 2)
    torch.manual_seed(0)
    unit = diff_augment(x, ("color",), value_range=(0.0, 1.0))
    torch.manual_seed(0)
    wide = diff_augment(x, ("color",), value_range=(-1.0, 1.0))
    assert torch.allclose(unit * 2, wide)  # on [0, 1] the shift is half the [-1, 1] one


def test_augmentation_is_differentiable_for_both_real_and_generated_images():
    x = torch.rand(3, 3, 8, 8, requires_grad=True)
    diff_augment(x, parse_policy("color,translation,cutout")).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_policy_parsing():
    assert parse_policy("") == () and parse_policy("none") == ()
    assert parse_policy("color, cutout") == ("color", "cutout")
    with pytest.raises(ValueError, match="unknown DiffAugment policy 'rotate'"):
        parse_policy("color,rotate")


def test_the_gan_shows_d_augmented_images_and_none_without_a_policy():
    from genlab.core.data import DataInfo
    from lightning_modules.gan import GAN, GANConfig

    info = DataInfo((3, 32, 32), (-1.0, 1.0))
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    gan = GAN(GANConfig(ngf=4, ndf=4, diffaugment="color,translation,cutout"), info).eval()
    torch.manual_seed(5)
    seen = gan.discriminate(x)
    torch.manual_seed(5)
    assert torch.equal(seen, gan.discriminator(diff_augment(x, ("color", "translation", "cutout"))))
    plain = GAN(GANConfig(ngf=4, ndf=4), info).eval()
    assert torch.equal(plain.discriminate(x), plain.discriminator(x))
