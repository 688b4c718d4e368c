"""DCGAN generator and discriminator (Radford et al. 2015, as in pytorch/examples dcgan) for 28, 32, 64, 128 and
256 px.

At 64 px the paper's layout: G goes 1 -> 4 -> 8 -> 16 -> 32 -> 64 with 8, 4, 2, 1 times ``ngf`` channels. Each
halving of the side drops one stage (32 px: 1 -> 4 -> ... -> 32 with 4, 2, 1 times ``ngf``; 28 px: 1 -> 3 -> 7 ->
14 -> 28), each doubling adds one (128 px: 16, 8, 4, 2, 1 times ``ngf``); D mirrors G. No biases before
BatchNorm, BatchNorm everywhere except D's first layer, ReLU in G, LeakyReLU 0.2 in D. Both output logits: the
caller maps G's onto the pixel range (tanh for [-1, 1]) and D's through its loss.
"""

from __future__ import annotations

import torch
from torch import nn

from lightning_modules.nets.init import init_normal_

# (kernel, stride, padding) of G's transposed convs per image size; D uses them in reverse order
_STAGES = {28: [(3, 1, 0), (3, 2, 0), (4, 2, 1), (4, 2, 1)],
           **{2 ** k: [(4, 1, 0)] + [(4, 2, 1)] * (k - 2) for k in range(5, 9)}}  # 32 .. 256: 4 x 4, then doublings
SIZES = tuple(sorted(_STAGES))


def _stages(image_shape: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    _, h, w = image_shape
    if h != w or h not in _STAGES:
        raise ValueError(f"DCGAN nets take square images of {', '.join(map(str, SIZES))} px, not {h}x{w}")
    return _STAGES[h]


def _widths(base: int, stages: int) -> list[int]:
    """Feature widths from the widest (next to z / the logit) to ``base``: 2^(stages - 2) .. 1 times ``base``."""
    return [base * 2 ** i for i in reversed(range(stages - 1))]


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> image logits (N, C, H, W)."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], ngf: int = 64):
        super().__init__()
        stages = _stages(image_shape)
        widths = [latent_dim, *_widths(ngf, len(stages))]
        layers: list[nn.Module] = []
        for (k, s, p), c_in, c_out in zip(stages[:-1], widths[:-1], widths[1:], strict=True):
            layers += [nn.ConvTranspose2d(c_in, c_out, k, s, p, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        k, s, p = stages[-1]
        layers.append(nn.ConvTranspose2d(ngf, image_shape[0], k, s, p, bias=False))
        self.net = nn.Sequential(*layers)
        init_normal_(self)  # the DCGAN paper's N(0, 0.02)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Images (N, C, H, W) -> one logit per image (N,)."""

    def __init__(self, image_shape: tuple[int, int, int], ndf: int = 64, spectral_norm: bool = False):
        """``spectral_norm``: every conv's weight divided by its largest singular value (Miyato et al. 2018,
        one power iteration per step) and no BatchNorm, as in their SN-DCGAN discriminator."""
        super().__init__()
        stages = list(reversed(_stages(image_shape)))
        widths = [image_shape[0], *reversed(_widths(ndf, len(stages)))]
        layers: list[nn.Module] = []
        for i, ((k, s, p), c_in, c_out) in enumerate(zip(stages[:-1], widths[:-1], widths[1:], strict=True)):
            layers.append(nn.Conv2d(c_in, c_out, k, s, p, bias=spectral_norm))
            if i > 0 and not spectral_norm:  # no BatchNorm on the input layer, as in the paper
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        k, s, p = stages[-1]
        layers += [nn.Conv2d(widths[-1], 1, k, s, p, bias=False), nn.Flatten(0)]
        self.net = nn.Sequential(*layers)
        init_normal_(self)  # the DCGAN paper's N(0, 0.02)
        if spectral_norm:  # after the init: the parametrization keeps the initialized weight as its original
            for m in self.net:
                if isinstance(m, nn.Conv2d):
                    nn.utils.parametrizations.spectral_norm(m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
