"""Small convolutional encoder and decoder for 28x28 or 32x32 images (two stride-2 stages)."""

from __future__ import annotations

from torch import nn


def _check_size(image_shape: tuple[int, int, int]) -> None:
    if image_shape[1] % 4 or image_shape[2] % 4:
        raise ValueError(f"conv nets halve the image twice; {image_shape[1]}x{image_shape[2]} is not divisible by 4")


class ConvEncoder(nn.Sequential):
    """Image (C, H, W) -> vector: two 4x4 stride-2 convs, then a linear layer."""

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, channels: int = 32):
        _check_size(image_shape)
        c, h, w = image_shape
        super().__init__(
            nn.Conv2d(c, channels, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, 2, 1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * channels * (h // 4) * (w // 4), out_features),
        )


class ConvDecoder(nn.Sequential):
    """Vector -> image logits (C, H, W): a linear layer, then two 4x4 stride-2 transposed convs."""

    def __init__(self, image_shape: tuple[int, int, int], in_features: int, channels: int = 32):
        _check_size(image_shape)
        c, h, w = image_shape
        super().__init__(
            nn.Linear(in_features, 2 * channels * (h // 4) * (w // 4)), nn.ReLU(),
            nn.Unflatten(1, (2 * channels, h // 4, w // 4)),
            nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(channels, c, 4, 2, 1),
        )
