"""Start-up latency of the commands that only read configs or run folders, against ``import torch``; prints a
markdown table.

    PYTHONPATH=. python benchmarks/startup.py [--repeats 7] [--runs FOLDER] [--tiny]

Each command is a fresh ``python`` process, timed from start to exit (wall clock). The repeats are interleaved:
round r runs every command once before round r + 1 starts, so a burst of load from other processes on a shared
machine falls on all commands alike and the ratios stay fair even when the seconds do not. The table gives each
command's median and its ratio to the median of ``python -c "import torch"``; the goal (issue 20) is at most 0.5.

``compare.py`` needs finished run folders: without ``--runs``, two tiny autoencoder runs are trained first through
``scripts/train.py`` into a temporary folder (not timed). ``--tiny`` is the test mode: 1 repeat.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TINY_AE = ["experiment=ae_mnist", "trainer.max_epochs=1", "trainer.limit_train_batches=4",
           "trainer.limit_val_batches=1", "trainer.limit_test_batches=0", "trainer.num_sanity_val_steps=0",
           "trainer.enable_progress_bar=false", "callbacks.images=[]", "logger.mode=disabled", "data.batch_size=16"]


def commands(runs: Path) -> dict[str, list[str]]:
    train, compare = [str(REPO / "scripts" / "train.py")], [str(REPO / "scripts" / "compare.py"), str(runs)]
    sweeps = sorted(str(p) for p in (REPO / "configs" / "sweep").glob("*.yaml"))
    return {
        "python -c pass": ["-c", "pass"],
        "python -c 'import torch'": ["-c", "import torch"],
        "train.py --help": [*train, "--help"],
        "train.py experiment=gan_mnist --help": [*train, "experiment=gan_mnist", "--help"],
        "train.py experiment=vae_mnist --help model": [*train, "experiment=vae_mnist", "--help", "model"],
        "train.py experiment=cyclegan_monet --cfg": [*train, "experiment=cyclegan_monet", "--cfg"],
        "train.py ... model.latnt_dim=2 (unknown key)": [*train, "experiment=ae_mnist", "model.latnt_dim=2"],
        "train.py ... model.lr=-1 (bad value)": [*train, "experiment=ae_mnist", "model.lr=-1"],
        "train.py experiment=nope (unknown experiment)": [*train, "experiment=nope"],
        "compare.py RUNS (table)": compare,
        "compare.py RUNS --format markdown": [*compare, "--format", "markdown"],
        "compare.py RUNS --format csv": [*compare, "--format", "csv"],
        f"check_sweep.py ({len(sweeps)} sweep files)": [str(REPO / "scripts" / "check_sweep.py"), *sweeps],
    }


def seconds(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 2):  # 2: the config errors, on purpose; anything else is a broken command
        sys.exit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def make_runs(root: Path, env: dict[str, str]) -> Path:
    for dim in (2, 3):
        done = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), *TINY_AE, f"model.latent_dim={dim}",
                               f"run_dir={root / f'ae-{dim}'}"], cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"the tiny run for compare.py failed: {done.stderr[-2000:]}")
    return root


def table(times: dict[str, list[float]]) -> str:
    torch_median = statistics.median(times["python -c 'import torch'"])
    lines = ["| command | median s | x import torch |", "|---|---:|---:|"]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median:.2f} | {median / torch_median:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--runs", type=Path, help="a folder of finished runs for compare.py")
    parser.add_argument("--tiny", action="store_true", help="test mode: 1 repeat")
    args = parser.parse_args()
    repeats = 1 if args.tiny else args.repeats
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        runs = args.runs or make_runs(Path(tmp) / "runs", env)
        cmds = commands(runs)
        times: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(repeats):
            for name, cmd in cmds.items():
                times[name].append(seconds(cmd, env))
    if args.tiny:
        print("TINY MODE (1 repeat): the numbers say nothing")
    print(f"{repeats} interleaved repeats, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n")
    print(table(times))


if __name__ == "__main__":
    main()
