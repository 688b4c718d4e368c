"""Convolutional encoder and decoder sized by the image: two 4x4 stride-2 stages for images up to 32 px (MNIST's
28 and 32), then one more stage per doubling (64 px: 4 stages down to 4x4, 128 px: 5), the width doubling per
stage up to 8x ``channels``, as the DCGAN layout grows with the image."""

from __future__ import annotations

import math

from torch import nn


def conv_stages(image_shape: tuple[int, int, int]) -> int:
    """Stride-2 stages for an image: 2 up to 32 px, log2(side) - 2 above (a 4x4 map at the smallest power of two);
    ValueError when the sides do not halve that many times."""
    _, h, w = image_shape
    stages = 2 if max(h, w) <= 32 else int(math.log2(min(h, w))) - 2
    if h % 2 ** stages or w % 2 ** stages:
        raise ValueError(f"conv nets halve the image {stages} times; {h}x{w} is not divisible by {2 ** stages}")
    return stages


def stage_widths(channels: int, stages: int) -> list[int]:
    """Channels after each stride-2 stage: channels, 2 channels, ... capped at 8 channels."""
    return [channels * min(2 ** i, 8) for i in range(stages)]


class ConvEncoder(nn.Sequential):
    """Image (C, H, W) -> vector: 4x4 stride-2 convs with ReLU, then a linear layer."""

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, channels: int = 32):
        c, h, w = image_shape
        stages = conv_stages(image_shape)
        widths = stage_widths(channels, stages)
        layers: list[nn.Module] = []
        for c_in, c_out in zip([c, *widths[:-1]], widths, strict=True):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.ReLU()]
        scale = 2 ** stages
        super().__init__(*layers, nn.Flatten(), nn.Linear(widths[-1] * (h // scale) * (w // scale), out_features))


class ConvDecoder(nn.Sequential):
    """Vector -> image logits (C, H, W): a linear layer, then 4x4 stride-2 transposed convs (the encoder mirrored)."""

    def __init__(self, image_shape: tuple[int, int, int], in_features: int, channels: int = 32):
        c, h, w = image_shape
        stages = conv_stages(image_shape)
        widths = list(reversed(stage_widths(channels, stages)))
        scale = 2 ** stages
        layers: list[nn.Module] = [nn.Linear(in_features, widths[0] * (h // scale) * (w // scale)), nn.ReLU(),
                                   nn.Unflatten(1, (widths[0], h // scale, w // scale))]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(widths[-1], c, 4, 2, 1))
        super().__init__(*layers)
