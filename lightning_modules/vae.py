"""Variational autoencoder (Kingma & Welling 2014): Gaussian q(z|x), standard normal prior, Bernoulli or
Gaussian decoder; trained on the ELBO with analytic KL, or on the IWAE bound with ``iw_train_samples > 1``."""

from __future__ import annotations

import math

import torch
from torch import nn

from genlab.core.data import DataInfo
from genlab.core.errors import ConfigError
from genlab.core.optim import adam
from genlab.core.schema import EvalConfig
from lightning_modules.active_units import ActiveUnits, count_active_units
from lightning_modules.base import Ability, GenerativeModule
from lightning_modules.importance_weighted import iw_log_likelihood, log_importance_weights, log_mean_exp
from lightning_modules.nets.encoder_decoder import build_encoder_decoder
from lightning_modules.schemas import VAEConfig
from lightning_modules.vae_losses import (
    bernoulli_log_likelihood,
    bits_per_dim,
    gaussian_kl,
    gaussian_log_likelihood,
    kl_weight,
    reparameterize,
)

NUM_FIXED_NOISE = 64  # prior draws behind the sample grid (8 x 8) and the interpolations


class VAE(GenerativeModule):
    Config = VAEConfig
    abilities = frozenset({Ability.GENERATE, Ability.ENCODE})

    def __init__(self, cfg: VAEConfig, data_info: DataInfo, eval_cfg: EvalConfig | None = None):
        super().__init__(cfg, data_info, eval_cfg)
        if cfg.likelihood == "bernoulli" and tuple(data_info.value_range) != (0.0, 1.0):
            raise ConfigError("model.likelihood=bernoulli needs pixels in [0, 1]: set data.value_range=[0,1] "
                              "(and data.binarize=dynamic for a true likelihood), or use model.likelihood=gaussian")
        self.encoder, self.decoder = build_encoder_decoder(cfg.arch, data_info.image_shape, 2 * cfg.latent_dim,
                                                           cfg.latent_dim, cfg.hidden, cfg.channels, cfg.activation)
        if cfg.likelihood == "gaussian" and cfg.gaussian_std is None:
            self.log_std = nn.Parameter(torch.zeros(()))
        # a buffer, so the sample grid shows the same z across epochs, resumes and evaluations
        self.register_buffer("fixed_noise", torch.randn(NUM_FIXED_NOISE, cfg.latent_dim))
        self.active_units = ActiveUnits(cfg.latent_dim)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z|x), each (B, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean: a deterministic code for pictures and features."""
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of p(x|z) in the data's pixel range (Bernoulli probabilities for binary data)."""
        return self.output_activation(self.decoder(z))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Samples for prior codes ``z``: the decoder's mean, as for the sample grids."""
        return self.decode(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def sample(self, num: int) -> torch.Tensor:
        """New images: z ~ N(0, I) through the decoder."""
        return self.decode(torch.randn(num, self.cfg.latent_dim, device=self.device))

    def log_likelihood(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per image from decoder logits; leading sample dims broadcast against ``x``."""
        if self.cfg.likelihood == "bernoulli":
            return bernoulli_log_likelihood(logits, x)
        log_std = self.log_std if self.cfg.gaussian_std is None else math.log(self.cfg.gaussian_std)
        return gaussian_log_likelihood(self.output_activation(logits), x, log_std)

    def _log_px_given_z(self, x: torch.Tensor):
        def log_px_given_z(z: torch.Tensor) -> torch.Tensor:  # z (S, B, d) -> (S, B)
            logits = self.decoder(z.flatten(0, 1)).unflatten(0, z.shape[:2])
            return self.log_likelihood(logits, x)
        return log_px_given_z

    def loss_terms(self, x: torch.Tensor, weight: float) -> dict[str, torch.Tensor]:
        """Training loss (KL weighted by ``weight``) and the unweighted -ELBO = recon + KL, batch means."""
        mu, logvar = self.posterior(x)
        kl = gaussian_kl(mu, logvar)
        if self.cfg.iw_train_samples == 1:
            recon = -self.log_likelihood(self.decoder(reparameterize(mu, logvar)), x)
            loss = recon + weight * kl
        else:
            z = reparameterize(mu, logvar, self.cfg.iw_train_samples)
            log_lik = self._log_px_given_z(x)(z)
            loss = -log_mean_exp(log_importance_weights(log_lik, z, mu, logvar, weight))
            recon = -log_lik.mean(0)
        return {"loss": loss.mean(), "neg_elbo": (recon + kl).mean(), "recon": recon.mean(), "kl": kl.mean()}

    def training_step(self, batch, batch_idx):
        x, _ = batch
        weight = kl_weight(self.global_step, self.cfg.beta, self.cfg.kl_warmup_steps)
        terms = self.loss_terms(x, weight)
        if self.cfg.kl_warmup_steps:
            terms["kl_weight"] = weight
        if self.cfg.likelihood == "gaussian" and self.cfg.gaussian_std is None:
            terms["std"] = self.log_std.exp()
        self.log_terms("train", terms, prog_bar=True)
        return terms["loss"]

    def validation_step(self, batch, batch_idx):
        x, _ = batch
        self.log_terms("val", self.loss_terms(x, self.cfg.beta), batch_size=len(x))

    def test_step(self, batch, batch_idx):
        x, _ = batch
        mu, logvar = self.posterior(x)
        log_px, mean_log_lik = iw_log_likelihood(self._log_px_given_z(x), mu, logvar, self.eval_cfg.iw_samples,
                                                 self.eval_cfg.iw_chunk)
        kl = gaussian_kl(mu, logvar)
        self.active_units.update(mu)
        bpd = bits_per_dim(-log_px, math.prod(x.shape[1:]), self.data_info.value_range,
                           discrete=self.cfg.likelihood == "bernoulli")
        # -ELBO from the same k samples: analytic KL plus a k-sample mean of the reconstruction term
        self.log_terms("test", {"neg_elbo": (kl - mean_log_lik).mean(), "nll_iw": -log_px.mean(),
                                "recon": -mean_log_lik.mean(), "kl": kl.mean(), "bpd": bpd.mean()},
                       batch_size=len(x))

    def on_test_epoch_end(self) -> None:
        # inside sync_context the states are summed over every DDP rank, so each rank logs the same whole-test-set
        # value, and the number of images it covers beside it
        with self.active_units.sync_context():
            units = count_active_units(self.active_units.variance(), self.active_units.threshold)
            self.log("test/active_units", units.float())
            self.log("test/active_units_images", self.active_units.count.float())
        # test/nll_iw depends on k (a looser bound with fewer samples): the run's record says which k made it
        self.log("test/iw_samples", float(self.eval_cfg.iw_samples))
        self.active_units.reset()

    def configure_optimizers(self):
        optimizer = adam(self.parameters(), lr=self.cfg.lr)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=self.cfg.lr_decay)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}
