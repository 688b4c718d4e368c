"""Normalization layers of the pix2pix/CycleGAN networks, chosen by name."""

from __future__ import annotations

from torch import nn

from lightning_modules.schemas import NORMS


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``instance``: no affine parameters and no running statistics (the CycleGAN default); ``batch``: affine
    BatchNorm with running statistics (pix2pix)."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    raise ValueError(f"unknown norm {kind!r}; one of {', '.join(NORMS)}")


def conv_bias(kind: str) -> bool:
    """BatchNorm's shift makes a conv bias redundant; instance norm without affine has none, so convs keep theirs."""
    return kind != "batch"
