"""Pick the encoder/decoder pair of an architecture; the autoencoder and the VAE share it."""

from __future__ import annotations

from torch import nn

from genlab.core.errors import ConfigError
from lightning_modules.nets.conv import ConvDecoder, ConvEncoder, conv_stages
from lightning_modules.nets.mlp import MLPDecoder, MLPEncoder, check_mlp_size
from lightning_modules.schemas import ENCODER_DECODER_ARCHITECTURES


def build_encoder_decoder(arch: str, image_shape, code_features: int, latent_dim: int, hidden: list[int],
                          channels: int, activation: str = "relu") -> tuple[nn.Module, nn.Module]:
    """Encoder to ``code_features`` outputs (a VAE asks for 2 x latent_dim: mean and log-variance) and decoder
    from ``latent_dim`` inputs to image logits. ``hidden`` and ``activation`` are for mlp, ``channels`` for conv."""
    if arch == "mlp":
        check_mlp_size(image_shape)
        return (MLPEncoder(image_shape, hidden, code_features, activation),
                MLPDecoder(image_shape, list(reversed(hidden)), latent_dim, activation))
    if arch == "conv":
        try:
            conv_stages(image_shape)
        except ValueError as e:
            raise ConfigError(f"model.arch=conv: {e}; choose a data.image_size divisible by it") from None
        return ConvEncoder(image_shape, code_features, channels), ConvDecoder(image_shape, latent_dim, channels)
    raise ValueError(f"unknown architecture {arch!r}; one of {', '.join(ENCODER_DECODER_ARCHITECTURES)}")
