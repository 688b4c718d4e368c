"""Pure units of CycleGAN: the image pool, the linear LR rule, the GAN losses and the metric features."""

import math
from fractions import Fraction

import pytest
import torch

from genlab.metrics.distribution_metrics import DistributionMetrics
from genlab.metrics.image_features import PixelFeatures, to_uint8
from lightning_modules.cyclegan import GAN_MODES
from lightning_modules.gan_losses import discriminator_loss, generator_loss
from lightning_modules.image_pool import ImagePool
from lightning_modules.lr_policy import linear_decay_factor


def images(start: int, n: int) -> torch.Tensor:
    """n distinct 1x1x1 'images' whose value is their id."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1)


def seeded_pool(size: int, seed: int = 0) -> ImagePool:
    return ImagePool(size, torch.Generator().manual_seed(seed))


def test_pool_stores_and_returns_until_full():
    pool = seeded_pool(4)
    for i in range(4):
        assert torch.equal(pool.query(images(i, 1)), images(i, 1))
    assert len(pool) == 4 and sorted(float(x) for x in pool.images) == [0, 1, 2, 3]


def test_full_pool_swaps_half_the_time_and_keeps_every_image_somewhere():
    pool = seeded_pool(4)
    pool.query(images(0, 4))
    swaps = 0
    for new_id in range(4, 404):
        before = sorted(float(x) for x in pool.images)
        out = float(pool.query(images(new_id, 1)))
        after = sorted(float(x) for x in pool.images)
        if out == new_id:  # returned the new image, pool unchanged
            assert after == before
        else:  # returned a stored image, which the new one replaced
            swaps += 1
            assert out in before and after == sorted([*(b for b in before if b != out), new_id])
        assert len(pool) == 4
    assert 0.42 < swaps / 400 < 0.58  # probability 0.5, 400 seeded draws


def test_pool_is_reproducible_from_its_seed_and_its_state_dict():
    a, b = seeded_pool(3, seed=7), seeded_pool(3, seed=7)
    stream = [images(i, 2) for i in range(0, 40, 2)]
    assert all(torch.equal(a.query(x), b.query(x)) for x in stream)
    restored = seeded_pool(3, seed=99)
    restored.load_state_dict(a.state_dict())
    assert all(torch.equal(a.query(x), restored.query(x)) for x in stream)


def test_pool_of_size_zero_passes_images_through_detached():
    x = images(0, 3).requires_grad_()
    out = seeded_pool(0).query(x * 2)  # a fake still attached to the generator's graph
    assert torch.equal(out, x.detach() * 2) and not out.requires_grad


@pytest.mark.parametrize("epoch, expected", [(0, Fraction(1)), (99, Fraction(1)), (100, Fraction(100, 101)),
                                             (150, Fraction(50, 101)), (199, Fraction(1, 101))])
def test_linear_lr_factor_matches_the_official_rule(epoch, expected):
    assert linear_decay_factor(epoch, n_epochs=100, n_epochs_decay=100) == pytest.approx(float(expected))


@pytest.mark.parametrize("epoch", [200, 201, 250])
def test_linear_lr_factor_never_goes_below_zero_after_the_schedule(epoch):
    assert linear_decay_factor(epoch, n_epochs=100, n_epochs_decay=100) == 0.0


def test_lsgan_and_vanilla_losses_against_hand_values():
    logits = torch.tensor([0.0, 2.0])
    # lsgan G loss: mean squared distance of D(fake) to the real label, no 1/2 (the official MSELoss)
    assert generator_loss(logits, GAN_MODES["lsgan"]).item() == pytest.approx(((0 - 1) ** 2 + (2 - 1) ** 2) / 2)
    # vanilla G loss: -log sigmoid(z), BCE against the real label; sigmoid(0) = 1/2
    sig2 = 1 / (1 + math.exp(-2.0))
    assert generator_loss(logits, GAN_MODES["vanilla"]).item() == pytest.approx(
        (-math.log(0.5) - math.log(sig2)) / 2)
    # vanilla D loss: 0.5 [BCE(real, 1) + BCE(fake, 0)]
    assert discriminator_loss(logits, logits, GAN_MODES["vanilla"]).item() == pytest.approx(
        0.5 * ((-math.log(0.5) - math.log(sig2)) / 2 + (-math.log(0.5) - math.log(1 - sig2)) / 2))


def test_discriminator_loss_is_half_of_real_plus_fake():
    real, fake = torch.tensor([1.0, 0.5]), torch.tensor([0.0, 1.0])
    # lsgan: real (0 + 0.25) / 2 = 0.125, fake (0 + 1) / 2 = 0.5
    assert discriminator_loss(real, fake, GAN_MODES["lsgan"]).item() == pytest.approx(0.5 * (0.125 + 0.5))


def test_to_uint8_and_pixel_features():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 2, 2)
    rgb = to_uint8(x, (-1.0, 1.0))
    assert rgb.shape == (1, 3, 2, 2)  # grey repeated into three channels
    assert rgb[0, 2].flatten().tolist() == [0, 128, 255, 255]  # 127.5 rounds to even: 128
    flat = torch.full((2, 3, 32, 32), 0.2)  # every pool cell holds round(0.6 * 255) / 255
    features = PixelFeatures((-1.0, 1.0))(flat)
    assert features.shape == (2, 192)
    assert torch.allclose(features, torch.full((2, 192), round(0.6 * 255) / 255))


def test_kid_and_fid_are_near_zero_for_one_distribution_and_grow_with_a_shift():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(40, 8, generator=gen)

    def scores(fake):
        m = DistributionMetrics(num_features=8, kid_subsets=10, kid_subset_size=1000, mifid=True)
        m.update(real=real, fake=fake)
        return m.compute()

    same = scores(torch.randn(40, 8, generator=gen))
    shifted = scores(torch.randn(40, 8, generator=gen) + 1.0)
    # 40 samples: the unbiased KID of one distribution is small but not 0; a one-sigma shift is far above it
    assert shifted["kid"] > 10 * abs(same["kid"])
    assert shifted["fid"] > same["fid"] + 4  # |mean shift|^2 = 8
    assert set(same) == {"kid", "kid_std", "fid", "mifid"}
    # KID subsets are drawn from a fixed seed: the same features always give the same number
    assert scores(torch.randn(40, 8, generator=torch.Generator().manual_seed(5)))["kid"] == \
        scores(torch.randn(40, 8, generator=torch.Generator().manual_seed(5)))["kid"]


def test_distribution_metrics_cap_kid_by_the_images_counted_and_can_leave_kid_out():
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.randn(30, 4, generator=gen), torch.randn(12, 4, generator=gen)
    m = DistributionMetrics(num_features=4, kid_subsets=5, kid_subset_size=1000)
    m.update(real=real, fake=fake[:0])  # a batch of real images only, then one of generated ones only
    m.update(real=real[:0], fake=fake)
    assert set(m.compute()) == {"fid", "kid", "kid_std"} and m.kid.subset_size == 12
    fid_only = DistributionMetrics(num_features=4, kid=False)
    fid_only.update(real=real, fake=fake)
    assert set(fid_only.compute()) == {"fid"}
    fid_only.reset()
    fid_only.update(real=real, fake=fake[:1])
    with pytest.raises(ValueError, match="at least 2"):
        fid_only.compute()
