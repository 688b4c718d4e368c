"""The quality-per-CPU-minute frontier: FID/floor (GANs) or test NLL (VAEs) against training CPU-minutes, one line
per recipe or peer, from the metrics files that ``gan_recipes.py``, ``vae_recipes.py`` and ``peers.py`` write at
each time mark (``t<M>min.metrics.json``; a recipe's sit in ``<name>/checkpoints/``, a peer's in ``<name>/``). A
rescoring (``--score-only``: ``t<M>min.<evaluation>.metrics.json``) is a point where the run has no metrics of its
own for that mark (a run stopped before its evaluation), and is ignored where it has.

    PYTHONPATH=. python benchmarks/frontier.py RUN_FOLDER [RUN_FOLDER ...] --out benchmarks/frontier.png
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a compute node
import matplotlib.pyplot as plt  # noqa: E402
from gan_recipes import GOAL  # noqa: E402
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402
from vae_recipes import GOAL_NATS  # noqa: E402

FID_AXIS, NLL_AXIS = "FID / real-vs-real floor", "test NLL (IWAE bound), nats"
GOALS = {FID_AXIS: GOAL["fid_ratio"], NLL_AXIS: GOAL_NATS}  # issue 21's goals at 30 CPU-minutes
MARK = re.compile(r"^t(?P<minutes>[0-9.]+)min(?:\.(?P<tag>[^.]+))?\.metrics\.json$")


def quality(metrics: dict) -> tuple[str, float] | None:
    """(axis name, value) of a mark's metrics: FID/floor for a GAN, test NLL in nats for a VAE."""
    if "fid" in metrics and "fid_floor" in metrics:
        return FID_AXIS, metrics["fid"] / metrics["fid_floor"]
    if "fid_ratio" in metrics:  # a mark transcribed from a table that kept only the ratio
        return FID_AXIS, metrics["fid_ratio"]
    if "nll_iw" in metrics:
        return NLL_AXIS, metrics["nll_iw"]
    return None


def collect(folders: list[Path]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """{axis: {line name: [(minutes, value), ...] sorted}} over every mark's metrics file under ``folders``."""
    lines: dict[str, dict[str, dict[float, float]]] = {}
    for folder in folders:
        files = [(path, MARK.match(path.name)) for path in folder.rglob("t*min*.metrics.json")]
        # a run's own metrics first, so that a rescoring of the same mark does not replace them
        for path, match in sorted((f for f in files if f[1]), key=lambda f: (f[1]["tag"] is not None, f[0])):
            scored = quality(json.loads(path.read_text()))
            if scored is None:
                continue
            owner = path.parent.parent if path.parent.name == "checkpoints" else path.parent
            axis, value = scored
            lines.setdefault(axis, {}).setdefault(owner.name, {}).setdefault(float(match["minutes"]), value)
    return {axis: {name: sorted(points.items()) for name, points in named.items()} for axis, named in lines.items()}


def plot(lines: dict[str, dict[str, list[tuple[float, float]]]], out: Path) -> None:
    fig, axes = plt.subplots(1, len(lines), figsize=(6 * len(lines), 4.5), squeeze=False)
    for ax, (axis, named) in zip(axes[0], sorted(lines.items()), strict=True):
        for name, points in sorted(named.items()):
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
        ax.set_xscale("log")
        # the marks themselves as plain-number ticks (a log axis would label 3x10^0, 4x10^0 over each other)
        ax.set_xticks(sorted({m for points in named.values() for m, _ in points}))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        if axis in GOALS:
            ax.axhline(GOALS[axis], color="grey", linestyle="--", label=f"goal {GOALS[axis]:g}")
        if axis == FID_AXIS:  # ratios span 1000x; nats sit within a few percent of each other
            ax.set_yscale("log")
        ax.set_xlabel("training CPU-minutes (one thread)")
        ax.set_ylabel(axis)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("frontier.png"))
    args = parser.parse_args()
    lines = collect(args.folders)
    if not lines:
        raise SystemExit(f"no t<M>min.metrics.json with GAN or VAE metrics under {', '.join(map(str, args.folders))}")
    plot(lines, args.out)
    for axis, named in sorted(lines.items()):
        print(f"{axis}:")
        for name, points in sorted(named.items()):
            print(f"  {name}: " + ", ".join(f"{m:g} min {v:.2f}" for m, v in points))
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
