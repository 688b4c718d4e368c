"""Train an experiment: ``scripts/train.py experiment=NAME [group.key=value ...]``.

Resume a run with ``scripts/train.py ckpt=runs/<experiment>/<run>/checkpoints/last.ckpt [overrides]``.
``--help`` with ``experiment=NAME [overrides]`` lists the values that run would use; ``--cfg`` prints the
composed config as YAML and exits without running.
"""

import sys

from genlab.checkpoints import read_checkpoint_config
from genlab.cli import pop_arg, run_cli
from genlab.config import compose, compose_from_saved
from genlab.config.load import describe, to_yaml
from genlab.train import train


def main(args: list[str]) -> None:
    print_only = "--cfg" in args
    args = [a for a in args if a != "--cfg"]
    experiment, _ = pop_arg(args, "experiment")
    ckpt, _ = pop_arg(args, "ckpt")
    cfg = compose_from_saved(read_checkpoint_config(ckpt), args) if ckpt and not experiment else compose(args)
    if print_only:
        print(to_yaml(cfg), end="")
        return
    result = train(cfg)
    print(f"run folder: {result.run_dir}")


if __name__ == "__main__":
    sys.exit(run_cli(main, lambda args: f"{__doc__}\n{describe(args)}"))
