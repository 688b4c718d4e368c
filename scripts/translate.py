"""Translate images with a CycleGAN checkpoint:
``scripts/translate.py ckpt=PATH input=DIR_OR_IMAGE output=DIR [direction=AtoB|BtoA] [batch_size=8] [device=auto]``.

AtoB uses G_A, BtoA G_B (in the Monet experiments A = photos, B = Monet: AtoB paints). Every image under input is
translated (sub-folders included) and written under output with its file name and size.
"""

import sys

from genlab.core.errors import ConfigError
from genlab.runner.cli import pop_arg, run_cli
from genlab.runner.tools.translate import translate

KEYS = ("ckpt", "input", "output", "direction", "batch_size", "device")


def main(args: list[str]) -> None:
    values = {}
    for key in KEYS:
        values[key], args = pop_arg(args, key)
    if args:
        raise ConfigError(f"unknown argument(s) {' '.join(args)}; valid keys: {', '.join(KEYS)}")
    missing = [k for k in ("ckpt", "input", "output") if not values[k]]
    if missing:
        raise ConfigError(f"pass {' '.join(k + '=...' for k in missing)} (see --help)")
    try:
        batch_size = int(values["batch_size"] or 8)
    except ValueError:
        raise ConfigError(f"batch_size={values['batch_size']!r}: must be an integer") from None
    written = translate(values["ckpt"], values["input"], values["output"], values["direction"] or "AtoB",
                        batch_size, values["device"] or "auto")
    print(f"wrote {len(written)} image(s) to {values['output']}")


if __name__ == "__main__":
    sys.exit(run_cli(main, __doc__))
