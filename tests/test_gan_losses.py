"""GAN objectives against values worked out by hand from their formulas, on fixed logits."""

import math

import pytest
import torch

from lightning_modules.gan_losses import discriminator_loss, discriminator_probability, generator_loss, r1_penalty

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


def test_r1_penalty_is_the_mean_squared_input_gradient_norm():
    # D(x) = w . x: grad_x = w for every image, ||w||^2 = 1 + 4 + 4 = 9
    w = torch.tensor([1.0, 2.0, 2.0])
    real = torch.randn(4, 3, requires_grad=True)
    assert r1_penalty(real, real @ w).item() == pytest.approx(9.0)
    # D(x) = sum x^2 per image: grad_x = 2x; images [1, 0] and [0, 3] -> (4 * 1 + 4 * 9) / 2 = 20
    real = torch.tensor([[1.0, 0.0], [0.0, 3.0]], requires_grad=True)
    penalty = r1_penalty(real, real.pow(2).sum(1))
    assert penalty.item() == pytest.approx(20.0)
    # differentiable: d/dx of mean 4 ||x||^2 = 8 x / 2 images = 4 x
    penalty.backward()
    assert torch.allclose(real.grad, torch.tensor([[4.0, 0.0], [0.0, 12.0]]))


@pytest.mark.slow
def test_r1_changes_only_the_discriminator_step_it_is_due_in(tmp_path):
    from genlab.runner.config import compose
    from genlab.runner.run.train import train
    from tests.helpers import FAST, with_args

    def one_batch(name: str, *overrides: str):
        cfg = compose(["experiment=gan_mnist", "model.ngf=4", "model.ndf=4", "data.batch_size=16",
                       *with_args(FAST, "trainer.limit_val_batches=0", "trainer.limit_test_batches=0"), "max_batches=1",
                       "logger.mode=disabled", "callbacks.images=[]", "callbacks.monitor=null", "seed=5",
                       f"run_dir={tmp_path / name}", *overrides])
        model = train(cfg).model
        return [torch.cat([p.detach().flatten() for p in net.parameters()])
                for net in (model.generator, model.discriminator)]

    plain_g, plain_d = one_batch("plain")
    r1_g, r1_d = one_batch("r1", "model.r1_gamma=10", "model.r1_every=1")
    late_g, late_d = one_batch("late", "model.r1_gamma=10", "model.r1_every=2")  # due on batch 0 as well
    assert torch.equal(plain_g, r1_g)  # G steps first, before any penalty
    assert not torch.allclose(plain_d, r1_d) and torch.isfinite(r1_d).all()
    assert not torch.allclose(r1_d, late_d)  # the lazy penalty is weighted by its interval
