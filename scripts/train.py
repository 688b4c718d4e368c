"""Train an experiment: ``scripts/train.py experiment=NAME [group.key=value ...]``.

Resume a run with ``scripts/train.py ckpt=runs/<experiment>/<run>/checkpoints/last.ckpt [overrides]``, or its
latest checkpoint with ``scripts/train.py ckpt=auto run_dir=runs/<experiment>/<run>``; a resumed run continues in
the folder its checkpoint is in.
"""

import sys

from genlab.checkpoints import latest_checkpoint, read_checkpoint_config
from genlab.cli import pop_arg, run_cli
from genlab.config import compose, compose_from_saved
from genlab.config.load import describe
from genlab.errors import CheckpointError
from genlab.train import train


def main(args: list[str]) -> None:
    experiment, _ = pop_arg(args, "experiment")
    ckpt, _ = pop_arg(args, "ckpt")
    if ckpt and not experiment:
        run_dir, _ = pop_arg(args, "run_dir")  # kept in args: it is also a config key
        source = latest_checkpoint(run_dir) if ckpt == "auto" and run_dir else ckpt
        if source in (None, "auto"):
            raise CheckpointError(f"ckpt=auto found no checkpoint under {run_dir or 'run_dir (not given)'}"
                                  "/checkpoints; pass experiment=NAME too, to start the run when none exists yet")
        cfg = compose_from_saved(read_checkpoint_config(source), args)
    else:
        cfg = compose(args)
    result = train(cfg)
    print(f"run folder: {result.run_dir}")


if __name__ == "__main__":
    sys.exit(run_cli(main, lambda: f"{__doc__}\n{describe()}"))
