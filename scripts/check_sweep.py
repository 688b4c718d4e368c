"""Check W&B sweep files before ``wandb sweep``: ``scripts/check_sweep.py configs/sweep/NAME.yaml [...]``.

Every parameter must be a genlab config key and every value it can take (each listed value, a range's ends) must
compose into a valid run config with the ``key=value`` items of the sweep's ``command``. It answers in about a second
because it imports no torch, Lightning or wandb: the checks that need them (Lightning's own Trainer checks, callback
options, W&B settings) run when each run starts, before it writes anything.
"""

import sys

from genlab.core.errors import ConfigError
from genlab.runner.cli import run_cli
from genlab.runner.sweep.sweeps import check_sweep


def main(args: list[str]) -> None:
    if not args:
        raise ConfigError("pass one or more sweep files, e.g. configs/sweep/ae_mnist.yaml")
    for path in args:
        print(f"{path}: {check_sweep(path)} configs composed")


if __name__ == "__main__":
    sys.exit(run_cli(main, __doc__))
