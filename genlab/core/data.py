"""What a model needs to know about the data, and the data root every datamodule resolves the same way."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataInfo:
    """Shape and pixel range of the images a datamodule yields; models size and bound their outputs by it."""

    image_shape: tuple[int, int, int]
    value_range: tuple[float, float]
    num_classes: int | None = None


def resolve_root(root: str | None) -> Path:
    """``data.root`` if given, else ``$GENLAB_DATA_DIR``, else ``./data``."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get("GENLAB_DATA_DIR")
    return Path(env).expanduser() if env else Path("data")
