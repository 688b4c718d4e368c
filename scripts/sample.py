"""Draw from a checkpoint: ``scripts/sample.py ckpt=PATH [n=64] [seed=0] [out=samples.png]``.

Writes ``out``: n samples (VAE, GAN) or n test images above their reconstructions (autoencoders), and
``<out>_interpolation.png``: a strip between two codes. CycleGAN checkpoints translate images instead:
``scripts/translate.py``.
"""

import sys
from pathlib import Path

from PIL import Image

from genlab.core.errors import ConfigError
from genlab.runner.cli import pop_arg, run_cli
from genlab.runner.config.load import check_writable_folder
from genlab.runner.tools.loading import load
from genlab.runner.tools.sampling import write_pictures


def _int(key: str, value: str | None, default: int, minimum: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        raise ConfigError(f"{key}={value!r}: must be an integer") from None
    if number < minimum:
        raise ConfigError(f"{key}={number}: must be >= {minimum}")
    return number


def _picture_path(out: str) -> Path:
    """``out`` names a picture file PIL can write, in a folder that exists or can be made and takes files."""
    path = Path(out)
    if path.suffix.lower() not in Image.registered_extensions():
        raise ConfigError(f"out={out}: {path.suffix or 'no extension'} is not a picture format; use .png or .jpg")
    if path.is_dir():
        raise ConfigError(f"out={out} is a folder; name a file, e.g. out={path / 'samples.png'}")
    check_writable_folder(path.parent, "out")
    return path


def main(args: list[str]) -> None:
    ckpt, args = pop_arg(args, "ckpt")
    n, args = pop_arg(args, "n")
    seed, args = pop_arg(args, "seed")
    out, args = pop_arg(args, "out")
    if args:
        raise ConfigError(f"unknown argument(s) {' '.join(args)}; valid keys: ckpt, n, seed, out")
    if not ckpt:
        raise ConfigError("pass ckpt=PATH, e.g. ckpt=runs/vae_mnist/<run>/checkpoints/last.ckpt")
    n_images, seed_value = _int("n", n, 64, 1), _int("seed", seed, 0, 0)
    out_path = _picture_path(out or "samples.png")
    model, cfg = load(ckpt)
    grid, strip, what = write_pictures(model, cfg, n_images, seed_value, out_path)
    print(f"{what}: {grid}\ninterpolation: {strip}")


if __name__ == "__main__":
    sys.exit(run_cli(main, __doc__))
