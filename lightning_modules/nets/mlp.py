"""Fully connected encoder and decoder over flattened images."""

from __future__ import annotations

import math

from torch import nn

from genlab.core.errors import ConfigError

# An MLP's first (or last) layer connects every pixel value to every unit: beyond 64 x 64 grey (or about 37 x 37
# RGB) values that is tens of millions of weights learning no spatial structure, so larger images need a conv net.
MAX_MLP_VALUES = 64 * 64


def check_mlp_size(image_shape: tuple[int, int, int]) -> None:
    """ConfigError naming the conv alternative when images are too large for an MLP (``MAX_MLP_VALUES``)."""
    if math.prod(image_shape) > MAX_MLP_VALUES:
        c, h, w = image_shape
        raise ConfigError(f"model.arch=mlp takes images of at most {MAX_MLP_VALUES} values (e.g. 64x64 grey or 32x32 "
                          f"RGB), not {c}x{h}x{w}; use model.arch=conv (autoencoder, VAE) or dcgan (GAN), or a "
                          "smaller data.image_size")


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": nn.ELU}


def mlp(sizes: list[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ``activation`` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Sequential):
    """Image (C, H, W) -> vector of ``out_features`` (a code, or e.g. a Gaussian's mean and log-variance)."""

    def __init__(self, image_shape: tuple[int, int, int], hidden: list[int], out_features: int,
                 activation: str = "relu"):
        super().__init__(nn.Flatten(), *mlp([math.prod(image_shape), *hidden, out_features], activation))


class MLPDecoder(nn.Sequential):
    """Vector of ``in_features`` -> image logits (C, H, W); the caller maps logits onto the pixel range."""

    def __init__(self, image_shape: tuple[int, int, int], hidden: list[int], in_features: int,
                 activation: str = "relu"):
        super().__init__(*mlp([in_features, *hidden, math.prod(image_shape)], activation),
                         nn.Unflatten(1, image_shape))
