"""The models' config schemas and the choices they check, without torch: composing a config, ``--help`` and
``--cfg`` read them and never import a model (see "Imports that start fast" in docs/architecture.md). Each model
module uses its schema as ``Config``; ``MODELS`` in ``lightning_modules/__init__.py`` pairs the two."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genlab.core.schema import ModelConfig, check, check_choice, described

ENCODER_DECODER_ARCHITECTURES = ("mlp", "conv")  # nets.encoder_decoder
GAN_ARCHITECTURES = ("dcgan", "mlp")
ACTIVATIONS = ("relu", "tanh", "leaky_relu", "elu")  # nets.mlp builds them
CORRUPTIONS = ("none", "gaussian", "mask")
RECONSTRUCTION_LOSSES = ("bce", "mse")
# Colour (any non-binary pixels) takes the Gaussian: a true density on pixels in either range, so test/nll_iw and
# test/bpd are likelihoods. Bernoulli is a likelihood only of binary pixels; the continuous Bernoulli
# (Loaiza-Ganem & Cunningham 2019) is one on [0, 1], but its mean is not its parameter and its density piles up at
# 0 and 1, so its samples need a correction; it is not offered. The std weighs reconstruction against KL: learned
# (gaussian_std=null) it finds that balance itself, but from std 1 Adam moves its log by about lr per step, so a
# short CPU run (vae_monet: 240 batches) ends near 0.8 with blurry, KL-dominated outputs; vae_monet fixes it at 0.2,
# near the RMS error (0.25) its default run reaches on [-1, 1].
LIKELIHOODS = ("bernoulli", "gaussian")
GAN_LOSSES = ("minimax", "non_saturating", "lsgan", "hinge")
NORMS = ("instance", "batch")
# the official CycleGAN code's gan_mode names -> the shared loss kinds ("vanilla" is BCE with the non-saturating G
# loss)
GAN_MODES = {"lsgan": "lsgan", "vanilla": "non_saturating"}
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); "" or "none" -> (); ValueError naming a bad one."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none")
    unknown = [p for p in names if p not in DIFFAUGMENT_POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown[0]!r}; a comma-separated list of "
                         f"{', '.join(DIFFAUGMENT_POLICIES)}")
    return names


@dataclass
class AutoencoderConfig(ModelConfig):
    validation_metrics: ClassVar[tuple[str, ...]] = ("val/loss", "val/mse")

    name: str = described("autoencoder", "the model (its name in lightning_modules.MODELS)")
    arch: str = described("mlp", "encoder/decoder: mlp or conv")
    latent_dim: int = described(32, "numbers in the code of an image")
    hidden: list[int] = described([512, 256], "mlp only: hidden layer sizes of the encoder (the decoder mirrors it)")
    channels: int = described(32, "conv only: channels of the first conv layer")
    loss: str = described("bce", "reconstruction loss: bce or mse")
    corruption: str = described("none", "denoising: none, gaussian (level = sigma) or mask (level = drop "
                                "probability)")
    corruption_level: float = described(0.0, "strength of the corruption (see corruption)")
    weight_decay: float = described(0.0, "Adam weight decay")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("arch", self.arch, ENCODER_DECODER_ARCHITECTURES)
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "must be >= 1")
        check(all(h >= 1 for h in self.hidden), "hidden", self.hidden, "layer sizes must be >= 1")
        check(self.channels >= 1, "channels", self.channels, "must be >= 1")
        check_choice("loss", self.loss, RECONSTRUCTION_LOSSES)
        check_choice("corruption", self.corruption, CORRUPTIONS)
        check(self.corruption_level >= 0 and (self.corruption != "mask" or self.corruption_level < 1),
              "corruption_level", self.corruption_level, "must be >= 0 (and < 1 for mask)")


@dataclass
class VAEConfig(ModelConfig):
    validation_metrics: ClassVar[tuple[str, ...]] = ("val/loss", "val/neg_elbo", "val/recon", "val/kl")

    name: str = described("vae", "the model (its name in lightning_modules.MODELS)")
    arch: str = described("mlp", "encoder/decoder: mlp or conv")
    latent_dim: int = described(50, "latent dimensions")
    hidden: list[int] = described([512, 256], "mlp only: hidden layer sizes of the encoder (the decoder mirrors it)")
    activation: str = described("relu", "mlp only: relu, tanh, leaky_relu or elu")
    channels: int = described(32, "conv only: channels of the first conv layer")
    likelihood: str = described("bernoulli", "bernoulli: logits on {0, 1} pixels; gaussian: mean in the data range")
    gaussian_std: float | None = described(None, "gaussian only: the pixel std; null learns one std shared by all "
                                           "pixels")
    beta: float = described(1.0, "weight of the KL term in the training loss")
    kl_warmup_steps: int = described(0, "ramp the KL weight linearly from 0 to beta over this many training batches")
    iw_train_samples: int = described(1, "> 1 trains on the importance-weighted bound (IWAE) with this many samples")
    lr_decay: float = described(1.0, "the learning rate is multiplied by this after every epoch; 1 keeps it "
                                "constant")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("arch", self.arch, ENCODER_DECODER_ARCHITECTURES)
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "must be >= 1 (the number of latent dims)")
        check(all(h >= 1 for h in self.hidden), "hidden", self.hidden, "layer sizes must be >= 1")
        check_choice("activation", self.activation, ACTIVATIONS)
        check(self.channels >= 1, "channels", self.channels, "must be >= 1")
        check_choice("likelihood", self.likelihood, LIKELIHOODS)
        check(self.gaussian_std is None or self.gaussian_std > 0, "gaussian_std", self.gaussian_std,
              "must be > 0, or null to learn it")
        check(self.beta >= 0, "beta", self.beta, "must be >= 0")
        check(self.kl_warmup_steps >= 0, "kl_warmup_steps", self.kl_warmup_steps, "must be >= 0")
        check(self.iw_train_samples >= 1, "iw_train_samples", self.iw_train_samples, "must be >= 1")
        check(0 < self.lr_decay <= 1, "lr_decay", self.lr_decay, "must be in (0, 1]")


@dataclass
class GANConfig(ModelConfig):
    validation_metrics: ClassVar[tuple[str, ...]] = ("val/fid", "val/classifier_is", "val/class_coverage",
                                                     "val/class_kl")

    name: str = described("gan", "the model (its name in lightning_modules.MODELS)")
    arch: str = described("dcgan", "networks: dcgan (conv) or mlp")
    latent_dim: int = described(100, "noise dimensions fed to the generator")
    loss: str = described("non_saturating", "minimax, non_saturating, lsgan or hinge")
    lr: float = described(2e-4, "the generator's Adam learning rate")
    lr_d: float | None = described(None, "the discriminator's learning rate (two-timescale rule, TTUR); null: lr")
    betas: list[float] = described([0.5, 0.999], "Adam betas of both optimizers")
    d_steps: int = described(1, "discriminator steps per generator step (per batch)")
    ngf: int = described(64, "dcgan: generator width")
    ndf: int = described(64, "dcgan: discriminator width")
    spectral_norm: bool = described(False, "dcgan: spectral norm on every D conv in place of D's BatchNorm "
                                    "(Miyato et al.)")
    ema_decay: float = described(0.0, "> 0: sample and evaluate with an exponential moving average of G's weights "
                                 "(ramped)")
    g_hidden: list[int] = described([128, 256, 512, 1024], "mlp: generator hidden layer sizes")
    d_hidden: list[int] = described([512, 256], "mlp: discriminator hidden layer sizes")
    r1_gamma: float = described(0.0, "> 0: R1 penalty gamma/2 E||grad_x D(x)||^2 on real images in D's loss")
    r1_every: int = described(16, "lazy R1 (StyleGAN2): on every r1_every-th batch, weighted by r1_every")
    fixed_noise_size: int = described(64, "the fixed noise batch behind the sample grids (a checkpointed buffer)")
    diffaugment: str = described("", "DiffAugment policies before D, e.g. color,translation,cutout; empty or none: "
                                 "off")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("arch", self.arch, GAN_ARCHITECTURES)
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "must be >= 1")
        check_choice("loss", self.loss, GAN_LOSSES)
        check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "betas", self.betas,
              "must be two Adam betas in [0, 1)")
        check(self.lr_d is None or self.lr_d > 0, "lr_d", self.lr_d, "must be > 0 (or null: lr)")
        check(0 <= self.ema_decay < 1, "ema_decay", self.ema_decay, "must be in [0, 1) (0: no average)")
        check(self.d_steps >= 1, "d_steps", self.d_steps, "must be >= 1")
        check(self.r1_gamma >= 0, "r1_gamma", self.r1_gamma, "must be >= 0 (0: no R1 penalty)")
        check(self.r1_every >= 1, "r1_every", self.r1_every, "must be >= 1 (1: R1 on every batch)")
        check(self.ngf >= 1 and self.ndf >= 1, "ngf/ndf", (self.ngf, self.ndf), "must be >= 1")
        check(len(self.g_hidden) >= 1 and all(h >= 1 for h in self.g_hidden), "g_hidden", self.g_hidden,
              "must be one or more layer sizes >= 1")
        check(len(self.d_hidden) >= 1 and all(h >= 1 for h in self.d_hidden), "d_hidden", self.d_hidden,
              "must be one or more layer sizes >= 1")
        try:
            parse_policy(self.diffaugment)
        except ValueError as e:
            check(False, "diffaugment", self.diffaugment, str(e))
        check(self.fixed_noise_size >= 2, "fixed_noise_size", self.fixed_noise_size,
              "must be >= 2 (the latent interpolation walks between pairs)")


@dataclass
class CycleGANConfig(ModelConfig):
    batches: ClassVar[str] = "unpaired images"

    name: str = described("cyclegan", "the model (its name in lightning_modules.MODELS)")
    lr: float = described(2e-4, "Adam learning rate of both optimizers")
    beta1: float = described(0.5, "Adam beta1")
    beta2: float = described(0.999, "Adam beta2")
    ngf: int = described(64, "generator width")
    ndf: int = described(64, "discriminator width")
    n_blocks: int = described(9, "residual blocks of each generator: 9 for 256 px, 6 for 128 px")
    n_layers_d: int = described(3, "discriminator conv layers; 3: the 70x70 PatchGAN")
    norm: str = described("instance", "instance or batch")
    init_gain: float = described(0.02, "std of the normal weight initialisation")
    lambda_A: float = described(10.0, "weight of the cycle A -> B -> A")
    lambda_B: float = described(10.0, "weight of the cycle B -> A -> B")
    lambda_identity: float = described(0.5, "identity weight as a fraction of the cycle weight; 0 turns it off")
    gan_mode: str = described("lsgan", "lsgan (least squares) or vanilla (BCE)")
    pool_size: int = described(50, "fakes remembered per discriminator; 0: no history")
    n_epochs: int = described(100, "epochs at the initial lr")
    n_epochs_decay: int = described(100, "epochs of linear decay towards 0 (train n_epochs + n_epochs_decay in all)")

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("beta1", "beta2"):
            check(0 <= getattr(self, key) < 1, key, getattr(self, key), "must be in [0, 1)")
        for key in ("ngf", "ndf", "n_layers_d"):
            check(getattr(self, key) >= 1, key, getattr(self, key), "must be >= 1")
        check(self.n_blocks >= 0, "n_blocks", self.n_blocks, "must be >= 0")
        check_choice("norm", self.norm, NORMS)
        check(self.init_gain > 0, "init_gain", self.init_gain, "must be > 0")
        check_choice("gan_mode", self.gan_mode, tuple(GAN_MODES))
        for key in ("lambda_A", "lambda_B", "lambda_identity"):
            check(getattr(self, key) >= 0, key, getattr(self, key), "must be >= 0")
        check(self.pool_size >= 0, "pool_size", self.pool_size, "must be >= 0")
        check(self.n_epochs >= 0, "n_epochs", self.n_epochs, "must be >= 0")
        check(self.n_epochs_decay >= 0, "n_epochs_decay", self.n_epochs_decay, "must be >= 0")
