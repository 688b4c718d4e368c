"""Input corruptions for denoising autoencoders (pure functions; applied to the input only)."""

from __future__ import annotations

import torch

from lightning_modules.schemas import CORRUPTIONS


def corrupt(x: torch.Tensor, kind: str, level: float, value_range: tuple[float, float] = (0.0, 1.0),
            generator: torch.Generator | None = None) -> torch.Tensor:
    """``gaussian``: add N(0, level^2) noise, clipped to the pixel range; ``mask``: set each pixel to the
    range's low end with probability ``level``; ``none``: unchanged."""
    if kind == "none" or level == 0:
        return x
    if kind == "gaussian":
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (x + level * noise).clamp(*value_range)
    if kind == "mask":
        keep = torch.rand(x.shape, generator=generator, device=x.device) >= level
        return torch.where(keep, x, torch.full_like(x, value_range[0]))
    raise ValueError(f"unknown corruption {kind!r}; one of {', '.join(CORRUPTIONS)}")
