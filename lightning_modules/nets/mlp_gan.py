"""The fully connected generator of Lightning's basic GAN example (latent 100 -> 128 -> 256 -> 512 -> 1024 ->
image); its discriminator (image -> 512 -> 256 -> 1, LeakyReLU 0.2) is ``MLPEncoder`` with one output."""

from __future__ import annotations

import math

from torch import nn


class MLPGenerator(nn.Sequential):
    """z (N, latent_dim) -> image logits (N, C, H, W): Linear + BatchNorm1d + LeakyReLU(0.2) blocks, no
    BatchNorm in the first block."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], hidden: list[int]):
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip([latent_dim, *hidden[:-1]], hidden, strict=True)):
            layers.append(nn.Linear(a, b))
            if i > 0:
                # eps=0.8 as in the example, where 0.8 is BatchNorm1d's second positional argument
                layers.append(nn.BatchNorm1d(b, eps=0.8))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        super().__init__(*layers, nn.Linear(hidden[-1], math.prod(image_shape)), nn.Unflatten(1, image_shape))
