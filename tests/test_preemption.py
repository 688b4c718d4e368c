"""A sweep job preempted by a real SIGUSR2 (what ``sbatch --signal=USR2@N`` and submitit's timeout send) saves,
requeues itself through submitit's local executor, and ends with the same weights, bit for bit, as a run that was
never stopped, in the same run folder and W&B run; a sweep started again does not train a finished run twice."""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path

import pytest

from tests.helpers import (
    LONG_AE,
    assert_identical_weights,
    run_script,
    start_train,
    train,
    tree_checksums,
    wait_for_file,
    with_args,
)
from tests.wandb_offline import read_offline_run

pytestmark = pytest.mark.slow

OFFLINE_AE = with_args(LONG_AE, "logger.mode=offline")  # the W&B run is read back


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (its children, theirs, ...), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        todo += children.get(todo.pop(), [])
        found += [p for p in todo if p not in found]
    return found


def submitit_task(pid: int) -> int:
    """The task process (``python -m submitit.core._submit``) that submitit's local controller started below
    ``pid``: the one SLURM would signal (the controller would not pass SIGUSR2 on)."""
    for child in descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"submitit.core._submit" in argv:
            return child
    raise AssertionError(f"no submitit task below process {pid}")


def _csv_steps(run_dir: Path, version: int) -> list[int]:
    with (run_dir / "csv" / f"version_{version}" / "metrics.csv").open() as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get("train/loss")]


@pytest.fixture(scope="module")
def straight(tmp_path_factory, data_dir) -> Path:
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    done = train(*OFFLINE_AE, f"run_dir={run_dir}")
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


def _signalled_sweep(sweep_dir: Path, *launcher_args: str) -> tuple[list[str], str]:
    """A one-run sweep through submitit's local executor whose task gets SIGUSR2 once training has started; the
    sweep command's arguments and output. Checks that the run ended like a straight one, in one W&B run."""
    args = ["--multirun", *OFFLINE_AE, f"run_dir={sweep_dir}", "--launcher", "local", *launcher_args]
    proc = start_train(*args)
    run_dir = sweep_dir / "0"  # nothing swept: the run is named by its index
    wait_for_file(run_dir / "checkpoints" / "last.ckpt", proc)  # training has started: the first periodic save
    os.kill(submitit_task(proc.pid), signal.SIGUSR2)
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert "[1/1] start (nothing swept) -> " in stdout and "[1/1] done (exit 0, " in stdout, stdout
    assert "1 of 1 runs finished" in stdout and "W&B group: ae_mnist-sweep; upload the offline runs" in stdout
    stopped = _csv_steps(run_dir, 0)  # the first start's batches: it stopped mid-run, the second went on from there
    assert 5 <= len(stopped) < 300 and _csv_steps(run_dir, 1)[0] == len(stopped)
    # the same W&B run, continued: two offline logs with the run folder's id, every batch logged once
    run_id = (run_dir / "wandb_id.txt").read_text()
    offline = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline) == 2 and {p.name.rsplit("-", 1)[1] for p in offline} == {run_id}
    steps = [row["trainer/global_step"] for row in read_offline_run(run_dir).history if "train/loss" in row]
    assert steps == list(range(300)), steps
    assert (run_dir / "finished.txt").is_file() and not (run_dir / ".lock").exists()
    return args, "".join(p.read_text() for p in (sweep_dir / "submitit").glob("*_0_log.*"))


def test_a_preempted_sweep_job_requeues_and_ends_like_a_straight_run(straight, tmp_path):
    sweep_dir = tmp_path / "sweep"
    args, log = _signalled_sweep(sweep_dir)
    assert "this job is preempted" in log and "Requeued job" in log and "(3 remaining timeouts)" in log, log[-3000:]
    assert_identical_weights(straight, sweep_dir / "0" / "checkpoints" / "last.ckpt")

    before = tree_checksums(sweep_dir / "0")
    again = run_script("train.py", *args)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "[1/1] done (exit 0, " in again.stdout
    assert tree_checksums(sweep_dir / "0") == before  # not trained, not touched
    assert "already finished" in "".join(p.read_text() for p in (sweep_dir / "submitit").glob("*_log.out"))


def test_a_timed_out_sweep_job_saves_requeues_and_ends_like_a_straight_run(straight, tmp_path):
    # submitit counts a SIGUSR2 as a timeout once the job has used its guaranteed time, which for limits under
    # 10 minutes is from the start: the same real signal, now the timeout path (one of 3 timeouts used up)
    sweep_dir = tmp_path / "sweep"
    _, log = _signalled_sweep(sweep_dir, "launcher.timeout_min=5")
    assert "this job is timed-out" in log and "(2 remaining timeouts)" in log, log[-3000:]
    assert_identical_weights(straight, sweep_dir / "0" / "checkpoints" / "last.ckpt")
