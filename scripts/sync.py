"""Publish run folders to W&B: ``scripts/sync.py RUN_DIR... [--entity E] [--project P] [--mode auto|online|offline]
[--dry-run]``.

Each run folder becomes ONE W&B run (the id in its ``wandb_id.txt``), whatever number of resumes, requeues and
evaluations it went through: its config, every scalar of its CSV copies at its batch step, its pictures, test
metrics, best/last summaries and checkpoints (as ``logger.log_model`` asks). A folder that holds runs (a sweep,
``runs/``) syncs all of them. ``wandb_sync.json`` in the folder records what was sent: syncing again sends only
what is new. ``--mode auto`` (default) is online when wandb finds credentials; ``offline`` writes one offline W&B
run under ``<run>/sync/wandb/`` (``wandb sync`` uploads it). ``--dry-run`` says what would be sent.
"""

import argparse
import sys
from pathlib import Path

from genlab.core.errors import ConfigError
from genlab.runner.cli import run_cli


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, like every genlab script
        raise ConfigError(f"{message} (see --help)")


def main(args: list[str]) -> None:
    parser = _Parser(add_help=False, allow_abbrev=False)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--entity")
    parser.add_argument("--project")
    parser.add_argument("--mode", choices=("auto", "online", "offline"), default="auto")
    parser.add_argument("--dry-run", action="store_true")
    opts = parser.parse_args(args)
    # after parsing: --help and bad arguments answer at once
    from genlab.runner.run.sync import run_folders, sync_runs

    folders = run_folders(opts.folders)  # bad folders are refused before wandb is asked anything
    mode = opts.mode
    if mode == "auto":  # only then wandb (and Lightning) are loaded before something is sent
        from genlab.runner.run.tracking import resolve_mode

        mode, why = resolve_mode(mode)
        if mode == "disabled":
            raise ConfigError(f"W&B is disabled ({why}); sync with --mode online or --mode offline")
    sync_runs(folders, mode, opts.entity, opts.project, opts.dry_run)


if __name__ == "__main__":
    sys.exit(run_cli(main, __doc__))
