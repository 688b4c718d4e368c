"""A 2-job sweep's wall time against one job: genlab's thread shares against every process taking all cores.

    PYTHONPATH=. python benchmarks/threads.py [--experiment ae_mnist] [--batches 200] [--repeats 1]

The user's path, ``scripts/train.py --multirun ... --jobs 2`` (W&B disabled, one validation batch, no test),
timed three ways with the same runs:

- ``one``: one job alone (``seed=1``); it may use every core.
- ``fitted``: ``seed=1,2 --jobs 2``; each run takes its share, cores // 2 threads (genlab's default).
- ``all cores``: the same sweep with ``OMP_NUM_THREADS=<cores>``: each run takes every core (torch's default,
  what runs did before threads were shared out).

The benchmark clears ``OMP_NUM_THREADS`` for ``one`` and ``fitted`` (a user's setting would win over the share).
Run it on a quiet machine: other processes on the cores change every row. Prints a markdown table: wall seconds,
the ratio to ``one`` (two runs in the time of one: 1.0; one after the other: 2.0), and the thread count each run
reported in its first lines.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_name

from genlab.runner.run.threads import usable_cores

REPO = Path(__file__).resolve().parents[1]


def sweep_args(experiment: str, batches: int, seeds: str, run_dir: Path) -> list[str]:
    return ["--multirun", f"experiment={experiment}", f"seed={seeds}", f"run_dir={run_dir}", "trainer.max_epochs=1",
            f"trainer.limit_train_batches={batches}", "trainer.limit_val_batches=1", "trainer.limit_test_batches=0",
            "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false", "trainer.accelerator=cpu",
            "trainer.devices=1", "logger.mode=disabled", "callbacks.images=[]"]


def timed_sweep(args: list[str], run_dir: Path, threads_env: str | None, cwd: Path) -> tuple[float, list[str]]:
    """Wall seconds of one ``scripts/train.py`` sweep, and the thread line of each of its runs."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OMP_NUM_THREADS", None)
    if threads_env:
        env["OMP_NUM_THREADS"] = threads_env
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"sweep failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    lines = [re.search(r"threads: .*", log.read_text()) for log in sorted(run_dir.glob("*/train.log"))]
    return seconds, [m.group(0) for m in lines if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ae_mnist")
    parser.add_argument("--batches", type=int, default=200, help="training batches per run")
    parser.add_argument("--repeats", type=int, default=1)
    opts = parser.parse_args()
    cores = usable_cores()
    cases = [("one", "1", None), ("fitted", "1,2", None), ("all cores", "1,2", str(cores))]
    rows: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    threads: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(opts.repeats):
            for name, seeds, threads_env in cases:
                run_dir = Path(tmp) / f"{name.replace(' ', '_')}-{repeat}"
                args = [*sweep_args(opts.experiment, opts.batches, seeds, run_dir), "--jobs", "2"]
                seconds, threads[name] = timed_sweep(args, run_dir, threads_env, Path(tmp))
                rows[name].append(seconds)
                print(f"{name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    base = min(rows["one"])
    print(f"{opts.experiment}, {opts.batches} batches per run, {cpu_name()}, {cores} usable cores, best of "
          f"{opts.repeats}\n")
    print("| case | runs | wall s | / one | threads per run |\n|---|---|---|---|---|")
    for name, seeds, _ in cases:
        best = min(rows[name])
        shown = "; ".join(sorted(set(threads[name])))
        print(f"| {name} | {len(seeds.split(','))} | {best:.1f} | {best / base:.2f} | {shown} |")


if __name__ == "__main__":
    main()
