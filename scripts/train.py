"""Train an experiment: ``scripts/train.py experiment=NAME [group.key=value ...]``.

Resume a run with ``scripts/train.py ckpt=runs/<experiment>/<run>/checkpoints/last.ckpt [overrides]``, or its
latest checkpoint with ``scripts/train.py ckpt=auto run_dir=runs/<experiment>/<run>``; a resumed run continues in
the folder its checkpoint is in.
``--help`` lists every key with its type, default and what it does; ``--help GROUP`` (model, data, trainer, ...)
one group; with ``experiment=NAME [overrides]`` the values that run would use. ``--cfg`` prints the composed config
as YAML and exits without running.

Many runs: ``scripts/train.py --multirun experiment=NAME seed=1,2,3 model.latent_dim=2,16 [--jobs N]
[--launcher slurm|local [launcher.key=value ...]]`` (``-m`` for ``--multirun``) trains every combination under one
sweep folder (runs/<experiment>/multirun-<time>/) and one W&B group, with a line as each run starts and ends,
then prints their comparison (scripts/compare.py). Jobs of ``--launcher`` requeue themselves when preempted or
timed out and continue from their last.ckpt.
Arguments may also be written ``--key=value``, as a W&B sweep agent passes them.
"""

import os
import sys

from genlab.core.compat import import_wandb_launch
from genlab.core.errors import ConfigError
from genlab.runner.cli import pop_arg, run_cli
from genlab.runner.config import compose
from genlab.runner.config.help import describe
from genlab.runner.config.load import to_yaml
from genlab.runner.sweep import multirun
from genlab.runner.tools import compare

# torch, Lightning and wandb are imported where a run starts or a checkpoint is read, not above: --help, --cfg and
# config errors answer without them (docs/architecture.md, "Imports that start fast").


def run_many(flags: dict, args: list[str]) -> None:
    launcher_args = [a for a in args if a.startswith(multirun.LAUNCHER_PREFIX)]
    args = [a for a in args if not a.startswith(multirun.LAUNCHER_PREFIX)]
    try:
        jobs_at_once = int(flags.get("--jobs", 1))
    except ValueError:
        raise ConfigError(f"--jobs {flags['--jobs']!r}: must be an integer >= 1") from None
    if jobs_at_once < 1:
        raise ConfigError(f"--jobs {jobs_at_once}: must be >= 1 (runs trained at once)")
    launcher = multirun.load_launcher(flags["--launcher"], launcher_args) if "--launcher" in flags else None
    if launcher_args and launcher is None:
        raise ConfigError("launcher.* keys need --launcher slurm|local")
    sweep = multirun.plan(args)
    print(f"multirun: {len(sweep.jobs)} runs under {sweep.dir}", flush=True)
    outcomes = (multirun.run_submitit(sweep, launcher) if launcher
                else multirun.run_local(sweep.jobs, jobs_at_once))
    finished = [str(o.job.run_dir) for o in outcomes if o.ok]
    if finished:
        print(compare.render(compare.build_table(compare.runs_from_folders(finished)), "table"))
    print("\n".join(multirun.summary(sweep, outcomes)))
    if len(finished) < len(outcomes):
        raise multirun.SweepFailed(f"{len(outcomes) - len(finished)} of {len(outcomes)} runs failed (see above)")


def main(args: list[str]) -> None:
    print_only = "--cfg" in args
    args = [a for a in args if a != "--cfg"]
    flags, args = multirun.split_flags(args)
    if flags.get("--multirun"):
        return run_many(flags, args)
    if set(flags) - {"--multirun"}:
        raise ConfigError(f"{' '.join(sorted(flags))} work only with --multirun")
    experiment, _ = pop_arg(args, "experiment")
    ckpt, _ = pop_arg(args, "ckpt")
    if os.environ.get("WANDB_SWEEP_ID") and experiment and not any(a.startswith("run_dir=") for a in args):
        # started by `wandb agent`: the run folder names the sweep
        args = [*args, f"run_dir={multirun.wandb_sweep_run_dir(experiment, os.environ['WANDB_SWEEP_ID'])}"]
    saved = None
    if ckpt and not experiment:  # resume with the checkpoint's own config
        import_wandb_launch()  # its config is unknown before torch reads it: almost every run uses W&B
        from genlab.runner.run.plan import config_from_checkpoint

        cfg, saved = config_from_checkpoint(args)
    else:
        cfg = compose(args)
    if print_only:
        print(to_yaml(cfg), end="")
        return
    from genlab.runner.run.environment import check_environment, uses_wandb

    # before Lightning is imported: with an unwritable HOME, importing it (matplotlib) already prints
    check_environment(cfg)
    if uses_wandb(cfg):
        import_wandb_launch()
    from genlab.runner.run.plan import plan_run
    from genlab.runner.run.train import train

    result = train(plan_run(cfg, saved))
    print(f"run folder: {result.run_dir}")


if __name__ == "__main__":
    sys.exit(run_cli(main, lambda args: describe(args, __doc__)))
