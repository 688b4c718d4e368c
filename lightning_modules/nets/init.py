"""Weight initialisation of the DCGAN networks (the paper's) and the pix2pix/CycleGAN ones (``init_type=normal``)."""

from __future__ import annotations

from torch import nn


def init_normal_(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Conv and linear weights ~ N(0, gain), BatchNorm weights ~ N(1, gain), all biases 0; returns ``net``."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net
