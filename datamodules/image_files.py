"""Image files on disk: listing a folder, reading any file as RGB, and finding the unreadable ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from genlab.core.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def list_images(folder: Path, what: str = "image folder") -> list[Path]:
    """Every image under ``folder`` (recursively), sorted; DataError naming the folder if it is missing or empty."""
    if not folder.is_dir():
        raise DataError(f"{what} {folder} does not exist")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not paths:
        raise DataError(f"{what} {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return paths


# Pillow's modes for 16-bit greyscale PNGs ("I" too: a PNG holds at most 16 bits per sample)
_SIXTEEN_BIT = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def to_8bit(values: np.ndarray) -> np.ndarray:
    """16-bit samples onto 0..255 by the full-range scale v * 255 / 65535 (65535 -> 255, 257 k -> k), rounded;
    Pillow's own convert("RGB") clips instead, turning everything above 255 of 65535 white."""
    return np.rint(values.astype(np.float64) * (255 / 65535)).clip(0, 255).astype(np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in _SIXTEEN_BIT:
        image = Image.fromarray(to_8bit(np.asarray(image)))  # uint8 2-D: mode L
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # palette transparency must go through RGBA to convert cleanly
    return image.convert("RGB")  # grayscale, palette, CMYK; RGBA drops alpha as the official loader does


_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError)


def _read_error(path: Path, e: Exception) -> DataError:
    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
    return DataError(f"cannot read image {path} ({reason}); replace or delete it, or set data.skip_bad_images=true "
                     "to skip unreadable files")


def load_rgb(path: Path) -> Image.Image:
    """The decoded image as 8-bit RGB; DataError naming the file if it cannot be decoded."""
    try:
        with Image.open(path) as image:
            return _to_rgb(image)
    except _DECODE_ERRORS as e:
        raise _read_error(path, e) from None


def load_image(path: Path, channels: int = 3) -> Image.Image:
    """The decoded image as 8-bit RGB (``channels=3``) or grey (``channels=1``: from RGB by ITU-R 601-2 luma, so
    16-bit, palette and alpha images are handled once, in ``load_rgb``)."""
    image = load_rgb(path)
    return image if channels == 3 else image.convert("L")


def unreadable(paths: list[Path]) -> dict[Path, DataError]:
    """The files among ``paths`` that do not decode completely, with the error each would raise (checked at
    reduced JPEG scale, which still reads the whole file, so scanning a data set takes seconds)."""
    bad = {}
    for path in paths:
        try:
            with Image.open(path) as image:
                image.draft("RGB", (image.width // 8 or 1, image.height // 8 or 1))
                image.load()
        except _DECODE_ERRORS as e:
            bad[path] = _read_error(path, e)
    return bad


def drop_unreadable(paths: list[Path], skip: bool, warn) -> list[Path]:
    """``paths`` without the files that do not decode. Unless ``skip``, the first unreadable file (by name) stops
    the run with its DataError; with ``skip`` they are left out and ``warn`` gets one line naming them all."""
    bad = unreadable(paths)
    if not bad:
        return paths
    if not skip:
        raise bad[min(bad)]
    warn(f"skipping {len(bad)} unreadable image(s): {', '.join(str(p) for p in sorted(bad))}")
    return [p for p in paths if p not in bad]
