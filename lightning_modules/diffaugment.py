"""Differentiable augmentation (DiffAugment, Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"): the same random transforms applied to real and generated images before the discriminator, in both
players' steps, so D cannot memorise a small training set and G still gets gradients through the transforms.

The policies and their ranges are the paper's (official ``DiffAugment_pytorch.py``), for images in [-1, 1]:
- ``color``: brightness + b with b ~ U(-0.5, 0.5), then saturation (x - channel mean) * s + mean with s ~ U(0, 2),
  then contrast (x - image mean) * c + mean with c ~ U(0.5, 1.5); one draw of each per image;
- ``translation``: a shift by whole pixels, dx, dy ~ U{-r..r} with r = round(side / 8), the uncovered border zero;
- ``cutout``: a zero square of half the side centred at a uniformly drawn pixel, clipped at the border.
On other pixel ranges the brightness shift is scaled by half the range's width (the same relative change).

Each transform is a pure function of the images and its draws (tested on hand-computed cases); ``diff_augment``
draws them from torch's generator (seeded and checkpointed with the run, so a resume repeats them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def brightness(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """x + shift per image; ``shift`` (N,)."""
    return x + shift.view(-1, 1, 1, 1)


def saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Each pixel's distance from its mean over channels scaled by ``factor`` (N,): 0 greys the image out."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * factor.view(-1, 1, 1, 1) + mean


def contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Each value's distance from the image's mean (over channels and pixels) scaled by ``factor`` (N,)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor.view(-1, 1, 1, 1) + mean


def translate(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Image n moved down by dy[n] and right by dx[n] whole pixels (negative: up/left); what moves in is zero.
    A gather from the zero-padded images, so gradients flow to the pixels that stay."""
    n, _, h, w = x.shape
    pad = int(max(dy.abs().max(), dx.abs().max()))
    padded = F.pad(x, (pad, pad, pad, pad)).permute(0, 2, 3, 1)  # (N, H + 2 pad, W + 2 pad, C)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(n, 1, 1) + pad
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(n, 1, 1) + pad
    return padded[torch.arange(n, device=x.device).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, cy: torch.Tensor, cx: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Image n with a ``size`` (rows, cols) square of zeros whose top-left is (cy - rows // 2, cx - cols // 2),
    clipped at the image border."""
    n, _, h, w = x.shape
    top, left = (cy - size[0] // 2).view(n, 1), (cx - size[1] // 2).view(n, 1)
    r, c = torch.arange(h, device=x.device).view(1, h), torch.arange(w, device=x.device).view(1, w)
    inside_r, inside_c = (r >= top) & (r < top + size[0]), (c >= left) & (c < left + size[1])
    keep = ~(inside_r.view(n, h, 1) & inside_c.view(n, 1, w))
    return x * keep.unsqueeze(1).to(x.dtype)


def _uniform(n: int, lo: float, hi: float, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, dtype=like.dtype, device=like.device) * (hi - lo) + lo


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], value_range: tuple[float, float] = (-1.0, 1.0)
                 ) -> torch.Tensor:
    """The policies in order, each with fresh per-image draws from torch's generator."""
    n, _, h, w = x.shape
    for name in policy:
        if name == "color":
            half_width = (value_range[1] - value_range[0]) / 2
            x = brightness(x, _uniform(n, -0.5, 0.5, x) * half_width)
            x = saturation(x, _uniform(n, 0.0, 2.0, x))
            x = contrast(x, _uniform(n, 0.5, 1.5, x))
        elif name == "translation":
            ry, rx = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
            dy = torch.randint(-ry, ry + 1, (n,), device=x.device)
            dx = torch.randint(-rx, rx + 1, (n,), device=x.device)
            x = translate(x, dy, dx)
        elif name == "cutout":
            size = (int(h * 0.5 + 0.5), int(w * 0.5 + 0.5))
            # the official centre ranges: 0..side for an even square, 0..side - 1 for an odd one
            cy = torch.randint(0, h + 1 - size[0] % 2, (n,), device=x.device)
            cx = torch.randint(0, w + 1 - size[1] % 2, (n,), device=x.device)
            x = cutout(x, cy, cx, size)
    return x
