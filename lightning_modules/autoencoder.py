"""Autoencoder (MLP or conv, plain or denoising): compress images to ``latent_dim`` numbers and back."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from genlab.core.data import DataInfo
from genlab.core.optim import adam
from genlab.core.schema import EvalConfig
from lightning_modules.base import Ability, GenerativeModule
from lightning_modules.corruption import corrupt
from lightning_modules.nets.encoder_decoder import build_encoder_decoder
from lightning_modules.reconstruction import logits_to_range, reconstruction_loss
from lightning_modules.schemas import AutoencoderConfig


class Autoencoder(GenerativeModule):
    Config = AutoencoderConfig
    abilities = frozenset({Ability.ENCODE})

    def __init__(self, cfg: AutoencoderConfig, data_info: DataInfo, eval_cfg: EvalConfig | None = None):
        super().__init__(cfg, data_info, eval_cfg)
        self.encoder, self.decoder = build_encoder_decoder(cfg.arch, data_info.image_shape, cfg.latent_dim,
                                                           cfg.latent_dim, cfg.hidden, cfg.channels)

    def output_activation(self, logits: torch.Tensor) -> torch.Tensor:
        # the loss's own map (not the base's tanh on [-1, 1]): what is trained is what is shown and scored
        return logits_to_range(logits, self.data_info.value_range)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each image: ``latent_dim`` numbers (dimensionality reduction, pretrained features)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in the data's pixel range."""
        return self.output_activation(self.decoder(z))

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        return corrupt(x, self.cfg.corruption, self.cfg.corruption_level, self.data_info.value_range)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, _ = batch
        logits = self.decoder(self.encode(self.corrupt(x)))
        terms = {"loss": reconstruction_loss(logits, x, self.cfg.loss, self.data_info.value_range)}
        if stage != "train":
            terms["mse"] = F.mse_loss(self.output_activation(logits), x)
        self.log_terms(stage, terms, prog_bar=stage == "train")
        return terms["loss"]

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def configure_optimizers(self):
        return adam(self.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
