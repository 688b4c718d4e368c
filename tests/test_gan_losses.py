"""GAN objectives against values worked out by hand from their formulas, on fixed logits."""

import math

import pytest
import torch

from lightning_modules.gan_losses import discriminator_loss, discriminator_probability, generator_loss

REAL = torch.tensor([0.0, 2.0])
FAKE = torch.tensor([0.0, -1.0])
LOG2 = math.log(2)


def test_cross_entropy_discriminator_loss_averages_real_and_fake_terms():
    real = (LOG2 + math.log(1 + math.exp(-2))) / 2  # -log sigmoid(l) = log(1 + e^-l)
    fake = (LOG2 + math.log(1 + math.exp(-1))) / 2  # -log(1 - sigmoid(l)) = log(1 + e^l)
    for kind in ("minimax", "non_saturating"):
        assert discriminator_loss(REAL, FAKE, kind).item() == pytest.approx(0.5 * (real + fake), rel=1e-6)


def test_minimax_and_non_saturating_generator_losses():
    # minimax: mean log(1 - sigmoid(l)); non-saturating: mean -log sigmoid(l)
    assert generator_loss(FAKE, "minimax").item() == pytest.approx(-(LOG2 + math.log(1 + math.exp(-1))) / 2)
    assert generator_loss(FAKE, "non_saturating").item() == pytest.approx((LOG2 + math.log(1 + math.e)) / 2)


def test_lsgan_losses():
    # D: 0.5 [mean (l_r - 1)^2 + mean l_f^2] = 0.5 [(1 + 1) / 2 + (0 + 1) / 2]
    # G: mean (l_f - 1)^2 = (1 + 4) / 2, without Mao et al.'s 1/2 as in the official CycleGAN code
    assert discriminator_loss(REAL, FAKE, "lsgan").item() == pytest.approx(0.75)
    assert generator_loss(FAKE, "lsgan").item() == pytest.approx(2.5)


def test_hinge_losses():
    # D: 0.5 [mean relu(1 - l_r) + mean relu(1 + l_f)] = 0.5 [(1 + 0) / 2 + (1 + 0) / 2]; G: -mean l_f
    assert discriminator_loss(REAL, FAKE, "hinge").item() == pytest.approx(0.5)
    assert generator_loss(FAKE, "hinge").item() == pytest.approx(0.5)


def test_non_saturating_keeps_a_gradient_where_minimax_vanishes():
    # D confidently rejects the fake (logit -10): d/dl of log(1 - sigmoid(l)) is -sigmoid(l) ~ -4.5e-5, while
    # d/dl of -log sigmoid(l) is -(1 - sigmoid(l)) ~ -1
    grads = {}
    for kind in ("minimax", "non_saturating"):
        logit = torch.tensor([-10.0], requires_grad=True)
        generator_loss(logit, kind).backward()
        grads[kind] = logit.grad.item()
    assert grads["minimax"] == pytest.approx(-1 / (1 + math.exp(10)), rel=1e-4)
    assert grads["non_saturating"] == pytest.approx(-1 / (1 + math.exp(-10)), rel=1e-4)


def test_probability_is_sigmoid_or_clamped_lsgan_output():
    assert discriminator_probability(REAL, "non_saturating").tolist() == pytest.approx([0.5, 1 / (1 + math.exp(-2))])
    assert discriminator_probability(REAL, "hinge").tolist() == pytest.approx([0.5, 1 / (1 + math.exp(-2))])
    assert discriminator_probability(torch.tensor([-0.5, 0.5, 2.0]), "lsgan").tolist() == [0.0, 0.5, 1.0]


def test_losses_are_float32_from_bfloat16_logits():
    assert discriminator_loss(REAL.bfloat16(), FAKE.bfloat16(), "non_saturating").dtype == torch.float32
    assert generator_loss(FAKE.bfloat16(), "lsgan").dtype == torch.float32


def test_unknown_loss_name_is_refused():
    with pytest.raises(ValueError, match="unknown GAN loss 'wasserstein'"):
        generator_loss(FAKE, "wasserstein")
