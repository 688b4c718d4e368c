"""Translate image files with one generator of a CycleGAN checkpoint (``scripts/translate.py``)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torchvision.transforms.functional import pil_to_tensor, to_pil_image
from tqdm import tqdm

from datamodules.image_files import IMAGE_EXTENSIONS, list_images, load_rgb
from genlab.core.errors import ConfigError, DataError
from genlab.runner.config.load import check_writable_folder
from lightning_modules.cyclegan import DIRECTIONS, CycleGAN

MULTIPLE = 4  # the generator halves the image twice


def load_generator(ckpt: str | Path, direction: str) -> torch.nn.Module:
    """G_A (``AtoB``) or G_B (``BtoA``) of a CycleGAN checkpoint, in eval mode."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction={direction!r}: must be one of {', '.join(DIRECTIONS)}")
    return CycleGAN.load_from_checkpoint(ckpt, map_location="cpu").translator(direction).eval()


def _inputs(source: Path) -> tuple[list[Path], Path]:
    """The image files and the folder their output paths are relative to."""
    if source.is_file():
        if source.suffix.lower() not in IMAGE_EXTENSIONS:
            raise DataError(f"input {source} is not an image ({', '.join(IMAGE_EXTENSIONS)})")
        return [source], source.parent
    if not source.exists():
        raise DataError(f"input {source} does not exist; pass input=DIR or input=IMAGE")
    return list_images(source, "input folder"), source


def _size(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header, so images are decoded only when their batch runs."""
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        load_rgb(path)  # raises the DataError naming the file
        raise


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when present) or a torch device string; ConfigError for one torch does not know or lacks."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device={name!r}: not a torch device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ConfigError(f"device={name!r}: this machine has {torch.cuda.device_count()} CUDA device(s); use "
                          "device=cpu or auto")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device={name!r}: only cpu and cuda devices are supported")
    return device


def check_output(output: Path, base: Path, searched: bool) -> None:
    """``output`` is a writable folder, not the inputs' folder (it would overwrite them) nor, when that folder is
    ``searched`` recursively, inside it (a second run would translate its own outputs)."""
    out, base = output.expanduser().resolve(), base.resolve()
    if out == base:
        raise ConfigError(f"output={output} is the input folder; choose another folder so no input is overwritten")
    if searched and base in out.parents:
        raise ConfigError(f"output={output} is inside the input folder {base}; choose a folder outside it, or a "
                          "second run would translate its own outputs")
    check_writable_folder(output, "output")


def _pad_to_multiple(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % MULTIPLE, -w % MULTIPLE
    return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect") if pad_h or pad_w else x


@torch.no_grad()
def translate(ckpt: str | Path, source: str | Path, output: str | Path, direction: str = "AtoB",
              batch_size: int = 8, device: str = "auto") -> list[Path]:
    """Translate every image under ``source`` (a folder, searched recursively, or one file) into ``output``, keeping
    file names and sub-folders. Images of equal size are batched; sizes not divisible by 4 are reflect-padded and
    cropped back, so each output has its input's size. Returns the files written."""
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size}: must be >= 1")
    source, output = Path(source).expanduser(), Path(output).expanduser()
    files, base = _inputs(source)
    check_output(output, base, searched=source.is_dir())
    device = resolve_device(device)
    generator = load_generator(ckpt, direction).to(device)
    by_size: dict[tuple[int, int], list[Path]] = defaultdict(list)
    for path in files:
        by_size[_size(path)].append(path)
    written = []
    with tqdm(total=len(files), desc=f"translating {direction}", unit="img") as progress:
        for (w, h), paths in by_size.items():
            for start in range(0, len(paths), batch_size):
                chunk = paths[start:start + batch_size]
                x = torch.stack([pil_to_tensor(load_rgb(p)) for p in chunk]).to(device).float() / 127.5 - 1.0
                y = generator(_pad_to_multiple(x))[..., :h, :w]
                y = ((y + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8).cpu()
                for path, image in zip(chunk, y, strict=True):
                    target = output / path.relative_to(base)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    to_pil_image(image).save(target, **({"quality": 95} if target.suffix.lower() in
                                                        (".jpg", ".jpeg", ".webp") else {}))
                    written.append(target)
                progress.update(len(chunk))
    return written
