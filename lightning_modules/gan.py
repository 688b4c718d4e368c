"""GAN (Goodfellow et al. 2014) with manual optimization: MLP (Lightning's GAN example) or DCGAN networks.

G maps z ~ N(0, I) to images, D scores images as real or generated. Per batch: one generator step, then
``d_steps`` discriminator steps on the same real batch, each with fresh noise; D trains on ``G(z).detach()``.
Each step is Lightning's toggled optimizer (only that network's parameters require grad) -> manual_backward
-> step -> zero_grad. ``train/D_x`` and ``train/D_G_z`` (D's mean output on real and generated images as a
probability, see ``gan_losses.discriminator_probability``) approach 0.5 at the equilibrium.

Counters: Lightning's ``trainer.global_step`` counts optimizer steps (1 + d_steps per batch here: the progress of
its manual-optimization loop) and its ``max_steps`` stops on that count. Everything genlab users set or read
counts batches instead:
- the top-level ``max_batches`` counts batches: ``genlab.runner.run.build`` hands the Trainer
  ``max_steps = max_batches * optimizer_steps_per_batch``, so training stops after exactly that many batches
  (``trainer.max_steps`` goes to Lightning unchanged and counts optimizer steps);
- ``trainer.log_every_n_steps``, the W&B x-axis (Lightning's ``trainer/global_step`` key is its batch counter,
  not ``global_step``) and the pictures' step (``genlab.core.steps.logging_step``) count batches already;
- ``trainer.global_step`` and the checkpoint's ``global_step`` stay optimizer steps (what Lightning resumes from).

Validation and test score samples with ``genlab.metrics``. On MNIST (data with 10 classes): FID (and at test KID,
the real-vs-real floor) in the feature space of an MNIST classifier, inception score, class coverage and class KL
to uniform. On other images: FID and KID (at test also MiFID and the floor's FID/KID) with Inception features
when installed, else pixel features with a one-line note (``natural_image_features``).
``model.diffaugment`` (DiffAugment, ``lightning_modules.diffaugment``) transforms the real and generated images D
sees in both players' steps.
Validation compares as many samples as validation images, from the same noise every epoch; ``val/fid`` picks
the best checkpoint. Test uses ``eval.num_samples`` samples against the test split, and as many training
images against it for ``test/fid_floor``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Subset

from genlab.core.data import DataInfo
from genlab.core.errors import ConfigError
from genlab.core.optim import adam
from genlab.core.schema import EvalConfig
from genlab.core.steps import logging_step
from genlab.metrics.distribution_metrics import ImageSampleMetrics
from genlab.metrics.image_features import build_feature_extractor, natural_image_features
from genlab.metrics.sample_metrics import SampleMetrics
from lightning_modules.base import Ability, GenerativeModule, Need
from lightning_modules.diffaugment import diff_augment
from lightning_modules.gan_losses import discriminator_loss, discriminator_probability, generator_loss, r1_penalty
from lightning_modules.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from lightning_modules.nets.mlp import MLPEncoder, check_mlp_size
from lightning_modules.nets.mlp_gan import MLPGenerator
from lightning_modules.schemas import GANConfig, parse_policy

# Seeds of the noise that validation and test score, and of the training images the floor uses: fixed, so
# two evaluations of one checkpoint agree and validation curves do not jitter with the noise draw.
VAL_NOISE_SEED, TEST_NOISE_SEED, FLOOR_SEED = 1_000_003, 2_000_003, 3_000_003
# The averaged G's BatchNorm statistics are measured on this many generated batches before it samples (below).
STANDING_STATS_SEED, STANDING_STATS_BATCHES, STANDING_STATS_BATCH_SIZE = 4_000_003, 16, 128


def ema_decay_at(decay: float, n: torch.Tensor) -> torch.Tensor:
    """The decay of the ``n``-th update of G's average: ``min(decay, (1 + n) / (10 + n))``, TensorFlow's
    ``ExponentialMovingAverage(num_updates=n)`` rule. A fixed 0.999 would still hold 13 % of the random initial
    weights after the 2,000 batches of a 10-minute CPU run; the ramp forgets them within the first hundreds."""
    return torch.clamp((1 + n) / (10 + n), max=decay)


def _ramped_ema(decay: float):
    @torch.no_grad()
    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        weight = 1 - ema_decay_at(decay, n)  # a tensor, so a GPU run does not sync to read n
        for a, c in zip(averaged, current, strict=True):
            a.lerp_(c, weight.to(a.dtype))
    return update


@torch.no_grad()
def standing_statistics_(generator: torch.nn.Module, noise: Iterator[torch.Tensor]) -> None:
    """Set every BatchNorm's running mean and variance of ``generator`` to the plain average over the batches
    G(z) for z in ``noise`` (BigGAN's "standing statistics"). An average of G's weights is not matched by the
    statistics the trained G gathered for its own weights, and averaging those as well mixes statistics of
    weights long gone; measuring them for the averaged weights is what the field does."""
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training, momenta = generator.training, [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
    generator.train()
    for z in noise:
        generator(z)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    generator.train(was_training)


def build_gan_nets(cfg: GANConfig, image_shape: tuple[int, int, int]):
    if cfg.arch == "mlp":
        check_mlp_size(image_shape)
        return (MLPGenerator(cfg.latent_dim, image_shape, cfg.g_hidden),
                torch.nn.Sequential(MLPEncoder(image_shape, cfg.d_hidden, 1, activation="leaky_relu"),
                                    torch.nn.Flatten(0)))
    try:
        return (DCGANGenerator(cfg.latent_dim, image_shape, cfg.ngf),
                DCGANDiscriminator(image_shape, cfg.ndf, spectral_norm=cfg.spectral_norm))
    except ValueError as e:
        raise ConfigError(f"model.arch=dcgan: {e}; set data.image_size to one of them") from None


def _chunks(total: int, size: int) -> Iterator[int]:
    for start in range(0, total, size):
        yield min(size, total - start)


class GAN(GenerativeModule):
    Config = GANConfig
    abilities = frozenset({Ability.GENERATE})
    ddp_find_unused_parameters = True  # G's backward leaves D without gradients and vice versa

    def __init__(self, cfg: GANConfig, data_info: DataInfo, eval_cfg: EvalConfig | None = None):
        super().__init__(cfg, data_info, eval_cfg)
        self.automatic_optimization = False
        # MNIST (labelled digits) is scored with the MNIST classifier; any other images with natural-image features
        self.digits = data_info.num_classes == 10
        if not self.digits:
            natural_image_features(self.eval_cfg.features)  # refuses eval.features=classifier before any write
        self.augment_policy = parse_policy(cfg.diffaugment)
        self.generator, self.discriminator = build_gan_nets(cfg, data_info.image_shape)
        # The average of G as a submodule: it is in every checkpoint's state_dict, resumes with it, and evaluation
        # of a checkpoint samples from it. Not Lightning's EMAWeightAveraging: that averages the whole module (D
        # too), swaps the average in only around validation epochs and copies it over the trained weights when
        # fit ends; here G's average serves sampling while training goes on with G's and D's own weights.
        # Weights only: its BatchNorm statistics are measured for the averaged weights before it samples.
        self.generator_ema = None
        self._ema_statistics_fresh = False
        if cfg.ema_decay > 0:
            self.generator_ema = AveragedModel(self.generator, multi_avg_fn=_ramped_ema(cfg.ema_decay))
            self.generator_ema.requires_grad_(False)
        # a buffer, so grids show the same z across epochs and resumes (drawn from the seeded global RNG)
        self.register_buffer("fixed_noise", torch.randn(cfg.fixed_noise_size, cfg.latent_dim))
        self._metrics: dict[str, SampleMetrics] = {}

    def needs(self) -> frozenset[Need]:
        """Digits are scored with the MNIST classifier, which ``genlab.runner.run.prepare`` hands over."""
        return frozenset({Need.CLASSIFIER}) if self.digits else frozenset()

    @property
    def optimizer_steps_per_batch(self) -> int:
        return 1 + self.cfg.d_steps

    def load_state_dict(self, *args, **kwargs):
        self._ema_statistics_fresh = False  # new averaged weights need their own statistics
        return super().load_state_dict(*args, **kwargs)

    # --- sampling: the public API the picture callbacks use -------------------------------------------------

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I), (n, latent_dim); from ``generator`` (a CPU generator) when given, else the global RNG."""
        if generator is None:
            return torch.randn(n, self.cfg.latent_dim, device=self.device)
        return torch.randn(n, self.cfg.latent_dim, generator=generator).to(self.device)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Images in the data's pixel range from latent codes z (N, latent_dim); from G's moving average when
        the model keeps one."""
        if self.generator_ema is None:
            return self.output_activation(self.generator(z))
        net = self.generator_ema.module
        if not self._ema_statistics_fresh:
            # from a seeded generator of its own: sampling does not move the run's random stream
            noise = torch.Generator().manual_seed(STANDING_STATS_SEED)
            standing_statistics_(net, (self.sample_noise(STANDING_STATS_BATCH_SIZE, noise)
                                       for _ in range(STANDING_STATS_BATCHES)))
            self._ema_statistics_fresh = True
        return self.output_activation(net(z))

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits for training images, real or generated, through the DiffAugment policy when one is set."""
        if self.augment_policy:
            x = diff_augment(x, self.augment_policy, self.data_info.value_range)
        return self.discriminator(x)

    def _fake(self, n: int) -> torch.Tensor:
        """Training's generated batch: always the trained G (the average only follows it)."""
        return self.output_activation(self.generator(self.sample_noise(n)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generate(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generate(self.sample_noise(n, generator))

    # --- training --------------------------------------------------------------------------------------------

    def on_train_start(self) -> None:
        # Every DDP process was seeded alike (same initial weights); without this each would also draw the same
        # noise, and the processes' fake batches would be copies of one another.
        if self.global_rank > 0:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def training_step(self, batch, batch_idx):
        x, *_ = batch
        opt_g, opt_d = self.optimizers()
        kind = self.cfg.loss
        with self.toggled_optimizer(opt_g):
            g_loss = generator_loss(self.discriminate(self._fake(len(x))), kind)
            self.manual_backward(g_loss)
            opt_g.step()
            opt_g.zero_grad(set_to_none=True)
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)
            self._ema_statistics_fresh = False
        for i in range(self.cfg.d_steps):
            with self.toggled_optimizer(opt_d):
                fake = self._fake(len(x)).detach()
                r1 = i == 0 and self.cfg.r1_gamma > 0 and logging_step(self.trainer) % self.cfg.r1_every == 0
                real = x.detach().requires_grad_(True) if r1 else x
                real_logits, fake_logits = self.discriminate(real), self.discriminate(fake)
                d_loss = discriminator_loss(real_logits, fake_logits, kind)
                if r1:  # lazy: the penalty's weight times its interval keeps its mean pull (Karras et al. 2020)
                    d_loss = d_loss + 0.5 * self.cfg.r1_gamma * self.cfg.r1_every * r1_penalty(real, real_logits)
                self.manual_backward(d_loss)
                opt_d.step()
                opt_d.zero_grad(set_to_none=True)
        self.log_terms("train", {
            "g_loss": g_loss, "d_loss": d_loss,
            "D_x": discriminator_probability(real_logits, kind).mean(),
            "D_G_z": discriminator_probability(fake_logits, kind).mean(),
        }, prog_bar=True)

    def on_before_optimizer_step(self, optimizer) -> None:
        # called after backward and (mixed precision) unscaling, with the raw optimizer about to step
        opt_g, _ = self.optimizers(use_pl_optimizer=False)
        net, key = (self.generator, "g_grad_norm") if optimizer is opt_g else (self.discriminator, "d_grad_norm")
        norms = [p.grad.detach().float().norm() for p in net.parameters() if p.grad is not None]
        if norms:
            self.log_terms("train", {key: torch.stack(norms).norm()})

    def compilable_networks(self) -> list[torch.nn.Module]:
        networks = super().compilable_networks()
        if self.cfg.r1_gamma > 0:
            # R1 differentiates D's input gradient again, a double backward that torch.compile's aot_autograd
            # does not support: D stays eager, G (most of the work) is still compiled
            rank_zero_warn("model.compile=true with model.r1_gamma > 0: the discriminator runs eager (torch.compile "
                           "has no double backward for R1)")
            networks.remove(self.discriminator)
        return networks

    def configure_optimizers(self):
        betas = tuple(self.cfg.betas)
        lr_d = self.cfg.lr if self.cfg.lr_d is None else self.cfg.lr_d
        return [adam(self.generator.parameters(), lr=self.cfg.lr, betas=betas),
                adam(self.discriminator.parameters(), lr=lr_d, betas=betas)]

    # --- sample quality ---------------------------------------------------------------------------------------

    def _sample_metrics(self, stage: str) -> SampleMetrics | ImageSampleMetrics:
        """Built on first use per stage: around the MNIST classifier ``genlab.runner.run.prepare`` handed over, or
        for other images around ``natural_image_features``' extractor."""
        if stage not in self._metrics:
            self._metrics[stage] = self._digit_metrics(stage) if self.digits else self._image_metrics(stage)
        metrics = self._metrics[stage].to(self.device)
        metrics.reset()
        return metrics

    def _digit_metrics(self, stage: str) -> SampleMetrics:
        classifier = self.prepared.classifier
        if classifier is None:
            raise RuntimeError("the GAN's sample metrics need the MNIST classifier: call "
                               "genlab.runner.run.prepare.prepare(cfg, model) before fit/test")
        test, e = stage == "test", self.eval_cfg
        features = "classifier" if e.features == "auto" else e.features
        return SampleMetrics(classifier, self.data_info.value_range, features, kid=test, floor=test,
                             kid_subset_size=e.kid_subset_size, kid_subsets=e.kid_subsets,
                             inception_weights=e.inception_weights)

    def _image_metrics(self, stage: str) -> ImageSampleMetrics:
        e = self.eval_cfg
        kind, note = natural_image_features(e.features)
        if note and not any(isinstance(m, ImageSampleMetrics) for m in self._metrics.values()):
            rank_zero_warn(note)  # once per model
        extractor = build_feature_extractor(kind, e.inception_weights, self.data_info.value_range)
        test = stage == "test"
        return ImageSampleMetrics(extractor, e.kid_subsets, e.kid_subset_size, mifid=test, floor=test)

    def _rank_generator(self, seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed + self.global_rank)

    def on_validation_epoch_start(self) -> None:
        self._sample_metrics("val")
        self._val_noise = self._rank_generator(VAL_NOISE_SEED)

    def validation_step(self, batch, batch_idx):
        x, *_ = batch
        metrics = self._metrics["val"]
        metrics.update_real(x)
        metrics.update_fake(self.sample(len(x), self._val_noise))

    def on_validation_epoch_end(self) -> None:
        self.log_terms("val", self._metrics["val"].compute())

    def on_test_epoch_start(self) -> None:
        self._sample_metrics("test")

    def test_step(self, batch, batch_idx):
        x, *_ = batch
        self._metrics["test"].update_real(x)

    def _rank_share(self, total: int) -> int:
        world, rank = self.trainer.world_size, self.global_rank
        return total // world + (rank < total % world)

    def _floor_images(self, total: int) -> Iterator[torch.Tensor]:
        """This rank's part of ``total`` training images, a fixed random subset (the floor's second set)."""
        datamodule = self.trainer.datamodule
        datamodule.setup("fit")
        dataset = datamodule.train_dataloader().dataset
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(FLOOR_SEED))
        mine = order[:total][self.global_rank::self.trainer.world_size]
        for batch in DataLoader(Subset(dataset, mine.tolist()), batch_size=self.eval_cfg.batch_size):
            yield (batch[0] if isinstance(batch, list | tuple) else batch).to(self.device)

    def on_test_epoch_end(self) -> None:
        metrics = self._metrics["test"]
        noise = self._rank_generator(TEST_NOISE_SEED)
        for size in _chunks(self._rank_share(self.eval_cfg.num_samples), self.eval_cfg.batch_size):
            metrics.update_fake(self.sample(size, noise))
        for x in self._floor_images(self.eval_cfg.num_samples):
            metrics.update_floor(x)
        self.log_terms("test", metrics.compute())
