"""Compare runs: ``scripts/compare.py [FOLDER ...] [--wandb ENTITY/PROJECT] [--filter key=value ...]
[--sort COLUMN|-COLUMN] [--format table|markdown|csv] [--no-seed-groups] [--metric KEY ...]
[--plot METRIC [--plot-out FILE]]``.

One row per run with the config keys that differ between the chosen runs and their metrics: the monitored
metric's last and best values and every test metric. Runs that differ only in ``seed`` become one row of
mean ± standard deviation with their number n (``--no-seed-groups`` keeps one row per run). Runs come from run
folders (default: runs/; no account, no network) or, with ``--wandb``, from a W&B project.
"""

import argparse
import sys
from pathlib import Path

from genlab.core.errors import ConfigError
from genlab.runner.cli import run_cli
from genlab.runner.tools import compare


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit 2, like every genlab script
        raise ConfigError(f"{message} (see --help)")


def parse(args: list[str]) -> argparse.Namespace:
    parser = _Parser(add_help=False, allow_abbrev=False)
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--wandb")
    parser.add_argument("--filter", action="append", default=[], type=compare.parse_filter)
    parser.add_argument("--sort")
    parser.add_argument("--format", choices=compare.FORMATS, default="table")
    parser.add_argument("--no-seed-groups", action="store_true")
    parser.add_argument("--metric", action="append", default=[])
    parser.add_argument("--plot")
    parser.add_argument("--plot-out", type=Path)
    return parser.parse_args(args)


def main(args: list[str]) -> None:
    opts = parse(args)
    if opts.wandb and opts.folders:
        raise ConfigError("give run folders or --wandb ENTITY/PROJECT, not both")
    if opts.wandb:
        api_runs = compare.fetch_wandb_runs(opts.wandb, opts.filter)
        runs, where = compare.runs_from_wandb_api(api_runs, [opts.plot] if opts.plot else []), f"W&B {opts.wandb}"
    else:
        folders = opts.folders or [Path("runs")]
        runs, where = compare.runs_from_folders(folders), " ".join(map(str, folders))
    table = compare.build_table(compare.select(runs, opts.filter, where), not opts.no_seed_groups, opts.metric)
    if opts.sort:
        table = compare.sort_table(table, opts.sort)
    plot_out = None
    if opts.plot:  # checked before printing, so a wrong metric name is the only output
        plot_out = compare.plot(table, opts.plot, opts.plot_out or Path(f"compare-{opts.plot.replace('/', '_')}.png"))
    print(compare.render(table, opts.format))
    if plot_out:
        print(f"plot: {plot_out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_cli(main, __doc__))
