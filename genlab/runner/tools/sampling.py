"""Pictures from a trained model: samples (VAE, GAN) or reconstructions (autoencoders), and an interpolation
strip between two codes; what ``scripts/sample.py`` writes."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader
from torchvision.utils import save_image

from genlab.callbacks.images import image_grid
from genlab.callbacks.latent_interpolation import slerp
from genlab.core.batches import first_rows
from genlab.core.errors import ConfigError
from genlab.runner.run.build import build_datamodule
from lightning_modules.base import Ability, GenerativeModule

STEPS = 10  # images in the interpolation strip


def grid_columns(n: int) -> int:
    """Columns of a near-square grid of ``n`` images."""
    return math.ceil(math.sqrt(n))


def _test_images(cfg: DictConfig, n: int) -> torch.Tensor:
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("test")
    return first_rows(DataLoader(datamodule.test_set, batch_size=n), n)[0]


@torch.no_grad()
def pictures(model: GenerativeModule, cfg: DictConfig, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(main grid, interpolation strip, what the grid shows), both grids in [0, 1].

    Generators (``Ability.GENERATE``) show ``n`` samples and walk the sphere between two prior codes;
    autoencoders (``Ability.ENCODE``) show ``n`` test images each above its reconstruction and walk between two
    images' codes."""
    generator = torch.Generator().manual_seed(seed)
    value_range = model.data_info.value_range
    cols = grid_columns(n)
    if Ability.GENERATE in model.abilities:  # VAE, GAN
        z = torch.randn(n, model.cfg.latent_dim, generator=generator)
        grid = image_grid(model.generate(z), value_range, nrow=cols)
        ends = torch.randn(2, model.cfg.latent_dim, generator=generator)
        strip = model.generate(slerp(ends[0], ends[1], torch.linspace(0, 1, STEPS)))
        return grid, image_grid(strip, value_range, nrow=STEPS), "samples"
    if Ability.ENCODE in model.abilities:  # autoencoders: their codes have no prior to sample from
        torch.manual_seed(seed)
        x = _test_images(cfg, max(n, 2))
        pairs = torch.stack([x[:n], model(x[:n])], dim=1)  # (n, 2, C, H, W)
        blank = torch.full_like(pairs[:1], value_range[1])  # fills the last row so inputs stay above outputs
        pairs = torch.cat([pairs, blank.expand((-n) % cols, -1, -1, -1, -1)])
        rows = pairs.view(-1, cols, *pairs.shape[1:]).transpose(1, 2).reshape(-1, *pairs.shape[2:])
        grid = image_grid(rows, value_range, nrow=cols)
        codes = model.encode(x[:2])
        t = torch.linspace(0, 1, STEPS)[:, None]
        strip = model.decode((1 - t) * codes[0] + t * codes[1])
        return grid, image_grid(strip, value_range, nrow=STEPS), "reconstructions (rows: test images | outputs)"
    does = ("translates images: use scripts/translate.py ckpt=PATH input=DIR output=DIR"
            if Ability.TRANSLATE in model.abilities else "neither generates nor encodes")
    raise ConfigError(f"sample.py draws generative models and autoencoders; a {cfg.model.name} model {does}")


def interpolation_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_interpolation{out.suffix}")


def write_pictures(model: GenerativeModule, cfg: DictConfig, n: int, seed: int, out: Path) -> tuple[Path, Path, str]:
    grid, strip, what = pictures(model, cfg, n, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, out)
    save_image(strip, interpolation_path(out))
    return out, interpolation_path(out), what
