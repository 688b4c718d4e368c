"""ResNet image-to-image generator of CycleGAN (Johnson et al. 2016 style): 2 downsamplings, residual blocks at
1/4 resolution, 2 upsamplings. Fully convolutional: any height and width divisible by 4."""

from __future__ import annotations

import torch
from torch import nn

from lightning_modules.nets.norm import conv_bias, norm_layer


class ResnetBlock(nn.Module):
    """x + (reflect-pad, 3x3 conv, norm, ReLU, reflect-pad, 3x3 conv, norm)(x)."""

    def __init__(self, channels: int, norm: str = "instance"):
        super().__init__()
        bias = conv_bias(norm)
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Sequential):
    """Image (in_channels, H, W) -> image (out_channels, H, W) in [-1, 1]. ``n_blocks`` 9 for 256 px, 6 for 128 px."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance"):
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                                   norm_layer(norm, ngf), nn.ReLU(True)]
        channels = ngf
        for _ in range(2):
            layers += [nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1, bias=bias),
                       norm_layer(norm, 2 * channels), nn.ReLU(True)]
            channels *= 2
        layers += [ResnetBlock(channels, norm) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1, output_padding=1,
                                          bias=bias),
                       norm_layer(norm, channels // 2), nn.ReLU(True)]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        super().__init__(*layers)
