"""Evaluate a checkpoint on the test split: ``scripts/evaluate.py ckpt=PATH [eval.key=value ...]``.

Model and data are rebuilt from the config saved in the checkpoint; metrics go to ``<run>/metrics.json``.
"""

import json
import sys

from genlab.core.compat import import_wandb_launch
from genlab.core.errors import ConfigError
from genlab.runner.cli import pop_arg, run_cli


def main(args: list[str]) -> None:
    ckpt, overrides = pop_arg(args, "ckpt")
    if not ckpt:
        raise ConfigError("pass ckpt=PATH, e.g. ckpt=runs/ae_mnist/<run>/checkpoints/last.ckpt")
    import_wandb_launch()  # an evaluation continues its run's W&B record
    from genlab.runner.run.evaluate import evaluate

    print(json.dumps(evaluate(ckpt, overrides), indent=2))


if __name__ == "__main__":
    sys.exit(run_cli(main, __doc__))
