"""Autoencoder (MLP or conv, plain or denoising): compress images to ``latent_dim`` numbers and back."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from genlab.core.data import DataInfo
from genlab.core.schema import EvalConfig, ModelConfig, check, check_choice
from lightning_modules.base import GenerativeModule
from lightning_modules.corruption import CORRUPTIONS, corrupt
from lightning_modules.nets.encoder_decoder import ARCHITECTURES, build_encoder_decoder
from lightning_modules.reconstruction import RECONSTRUCTION_LOSSES, logits_to_range, reconstruction_loss


@dataclass
class AutoencoderConfig(ModelConfig):
    name: str = "autoencoder"
    arch: str = "mlp"
    latent_dim: int = 32
    hidden: list[int] = field(default_factory=lambda: [512, 256])  # mlp only
    channels: int = 32  # conv only
    loss: str = "bce"
    corruption: str = "none"  # denoising: "gaussian" (level = sigma) or "mask" (level = drop probability)
    corruption_level: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("arch", self.arch, ARCHITECTURES)
        check(self.latent_dim >= 1, "latent_dim", self.latent_dim, "must be >= 1")
        check(all(h >= 1 for h in self.hidden), "hidden", self.hidden, "layer sizes must be >= 1")
        check(self.channels >= 1, "channels", self.channels, "must be >= 1")
        check_choice("loss", self.loss, RECONSTRUCTION_LOSSES)
        check_choice("corruption", self.corruption, CORRUPTIONS)
        check(self.corruption_level >= 0 and (self.corruption != "mask" or self.corruption_level < 1),
              "corruption_level", self.corruption_level, "must be >= 0 (and < 1 for mask)")


class Autoencoder(GenerativeModule):
    Config = AutoencoderConfig
    validation_metrics = ("val/loss", "val/mse")

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
        return torch.optim.Adam(self.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
