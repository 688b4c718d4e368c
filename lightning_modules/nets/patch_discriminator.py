"""PatchGAN discriminator (pix2pix/CycleGAN ``basic``): one real/fake logit per overlapping image patch; with
``n_layers=3`` each logit sees a 70x70 patch."""

from __future__ import annotations

from torch import nn

from lightning_modules.nets.norm import conv_bias, norm_layer


class PatchDiscriminator(nn.Sequential):
    """Image (in_channels, H, W) -> logits (1, H', W'); no sigmoid, the loss takes logits."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance"):
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1  # the last feature layer keeps the resolution
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias),
                       norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        super().__init__(*layers)
