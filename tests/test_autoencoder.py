"""Autoencoder pieces (corruption, losses, nets) and a short real training against the mean-image baseline."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from genlab.core.data import DataInfo
from genlab.runner.config import compose
from genlab.runner.run.train import train
from lightning_modules.autoencoder import Autoencoder, AutoencoderConfig
from lightning_modules.corruption import corrupt
from lightning_modules.reconstruction import reconstruction_loss


def test_bce_matches_hand_computed_value():
    logits = torch.tensor([[0.0, 2.0]])
    target = torch.tensor([[1.0, 0.5]])
    # -[1*log s(0)] and -[0.5 log s(2) + 0.5 log(1 - s(2))], averaged
    s2 = 1 / (1 + math.exp(-2))
    expected = (math.log(2) + -(0.5 * math.log(s2) + 0.5 * math.log(1 - s2))) / 2
    assert reconstruction_loss(logits, target, "bce").item() == pytest.approx(expected, rel=1e-6)


def test_bce_maps_tanh_range_targets_to_unit_interval():
    logits = torch.zeros(1, 2)
    assert reconstruction_loss(logits, torch.tensor([[-1.0, 1.0]]), "bce", (-1.0, 1.0)).item() == \
        pytest.approx(math.log(2))


def test_mse_is_on_the_range_mapped_output():
    logits = torch.zeros(1, 2)  # sigmoid 0.5
    assert reconstruction_loss(logits, torch.tensor([[1.0, 0.0]]), "mse").item() == pytest.approx(0.25)
    # in [-1, 1] the output is 0: squared errors 1 and 0.25
    assert reconstruction_loss(logits, torch.tensor([[1.0, -0.5]]), "mse", (-1.0, 1.0)).item() == \
        pytest.approx(0.625)


def test_gaussian_corruption_adds_noise_of_sigma_and_stays_in_range():
    x = torch.full((200, 1, 28, 28), 0.5)
    noisy = corrupt(x, "gaussian", 0.1, generator=torch.Generator().manual_seed(0))
    assert (noisy - x).std().item() == pytest.approx(0.1, rel=0.02)
    assert corrupt(torch.ones(4, 4), "gaussian", 1.0).max() <= 1


def test_mask_corruption_drops_the_given_fraction_to_background():
    x = torch.ones(100, 1, 28, 28)
    masked = corrupt(x, "mask", 0.3, generator=torch.Generator().manual_seed(0))
    assert (masked == 0).float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert corrupt(x, "none", 0.3) is x


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("size", [28, 32])
def test_encode_decode_shapes_and_range(arch, size):
    model = Autoencoder(AutoencoderConfig(arch=arch, latent_dim=5), DataInfo((1, size, size), (-1.0, 1.0)))
    x = torch.rand(3, 1, size, size) * 2 - 1
    assert model.encode(x).shape == (3, 5)
    out = model(x)
    assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1


@pytest.mark.slow
def test_short_training_beats_mean_image_baseline(data_dir, tmp_path):
    cfg = compose(["experiment=ae_mnist", f"run_dir={tmp_path}", "logger.mode=disabled", "callbacks.images=[]",
                   "trainer.max_epochs=1", "trainer.limit_train_batches=400", "trainer.limit_val_batches=5",
                   "trainer.enable_progress_bar=false", "trainer.accelerator=cpu", "trainer.devices=1"])
    result = train(cfg)
    test_mse = result.trainer.callback_metrics["test/mse"].item()
    train_images = result.datamodule.train_set.images.float() / 255
    test_images = result.datamodule.test_set.images.float() / 255
    mean_image_mse = F.mse_loss(train_images.mean(0).expand_as(test_images), test_images).item()
    assert test_mse < 0.5 * mean_image_mse, (test_mse, mean_image_mse)


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_a_perfect_logit_is_a_perfect_output_for_the_loss_and_the_pictures(value_range):
    lo, hi = value_range
    target = torch.tensor([[lo + 0.1 * (hi - lo), lo + 0.5 * (hi - lo), lo + 0.9 * (hi - lo)]])
    logits = torch.logit((target - lo) / (hi - lo))  # the logit whose output is exactly the target
    model = Autoencoder(AutoencoderConfig(), DataInfo(image_shape=(1, 1, 3), value_range=value_range))
    assert reconstruction_loss(logits, target, "mse", value_range).item() == pytest.approx(0.0, abs=1e-12)
    assert F.mse_loss(model.output_activation(logits), target).item() == pytest.approx(0.0, abs=1e-12)
