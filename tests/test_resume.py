"""Exact resume through the real script: straight runs against stopped-and-resumed ones, bit for bit, for every
model; a real SIGTERM mid-epoch and a real kill -9; resuming a copied checkpoint; refused overrides."""

from __future__ import annotations

import shutil
import signal

import pytest
import torch

from genlab.runner.config import compose
from genlab.runner.run.train import train as run_train
from tests.helpers import (
    LONG_AE,
    TINY_RUNS,
    assert_identical_weights,
    error_line,
    start_train,
    train,
    tree_checksums,
    wait_for_file,
    with_args,
)
from tests.wandb_offline import read_offline_run

pytestmark = pytest.mark.slow



@pytest.mark.parametrize("model", sorted(TINY_RUNS))
def test_two_epochs_straight_equal_one_plus_resume_plus_one(model, tmp_path, data_dir):
    # the straight run and the first epoch through compose -> train in this process (a script's path after its
    # imports); the resume, the claim, through the real script
    args = TINY_RUNS[model]
    run_train(compose([*args, "trainer.max_epochs=2", f"run_dir={tmp_path / 'straight'}"]))
    run_train(compose([*args, "trainer.max_epochs=1", f"run_dir={tmp_path / 'resumed'}"]))
    last = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0
    second = train(f"ckpt={last}", "trainer.max_epochs=2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert torch.load(last, weights_only=True)["epoch"] == 1
    assert_identical_weights(tmp_path / "straight" / "checkpoints" / "last.ckpt", last)


@pytest.fixture(scope="module")
def straight_long(tmp_path_factory, data_dir):
    run_dir = tmp_path_factory.mktemp("long") / "straight"
    done = train(*LONG_AE, f"run_dir={run_dir}")
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


def test_sigterm_mid_epoch_saves_exits_nonzero_and_resume_auto_is_exact(straight_long, tmp_path):
    run_dir = tmp_path / "run"
    proc = start_train(*with_args(LONG_AE, "logger.mode=offline"), f"run_dir={run_dir}")
    wait_for_file(run_dir / "checkpoints" / "last.ckpt", proc)  # the first periodic save, at batch 5
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    line = error_line(stderr)
    assert "SIGTERM" in line and f"ckpt=auto run_dir={run_dir}" in line
    stopped = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert stopped["epoch"] == 0 and 5 <= stopped["global_step"] < 150  # at the interruption, mid-epoch
    assert not (run_dir / ".lock").exists()
    resumed = train("ckpt=auto", f"run_dir={run_dir}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_identical_weights(straight_long, run_dir / "checkpoints" / "last.ckpt")
    # one W&B run in two offline logs: the second continues the batch count, and no batch is logged twice
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 2
    steps = [row["trainer/global_step"] for row in read_offline_run(run_dir).history if "train/loss" in row]
    assert steps == list(range(300)), steps


def test_kill_9_resumes_from_the_last_periodic_checkpoint(straight_long, tmp_path):
    run_dir = tmp_path / "run"
    proc = start_train(*LONG_AE, f"run_dir={run_dir}")
    wait_for_file(run_dir / "checkpoints" / "last.ckpt", proc)
    proc.kill()
    proc.wait(timeout=60)
    assert (run_dir / ".lock").exists()  # left behind by the killed run: a dead process's lock is taken over
    saved = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["global_step"] % 5 == 0 and saved["global_step"] > 0
    resumed = train("ckpt=auto", f"run_dir={run_dir}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_identical_weights(straight_long, run_dir / "checkpoints" / "last.ckpt")


def test_resuming_a_copy_writes_into_the_copy_and_leaves_the_original_alone(tmp_path, data_dir):
    original = tmp_path / "original"
    done = train(*TINY_RUNS["ae"], "trainer.max_epochs=1", f"run_dir={original}")
    assert done.returncode == 0, done.stderr[-3000:]
    before = tree_checksums(original)
    copy = tmp_path / "copy" / "checkpoints"
    copy.mkdir(parents=True)
    shutil.copy(original / "checkpoints" / "last.ckpt", copy / "last.ckpt")
    resumed = train(f"ckpt={copy / 'last.ckpt'}", "trainer.max_epochs=2")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert tree_checksums(original) == before
    assert torch.load(copy / "last.ckpt", weights_only=True)["epoch"] == 1
    assert (tmp_path / "copy" / "config.yaml").is_file()


def test_overrides_a_resume_cannot_apply_are_refused_before_anything_is_written(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    done = train(*TINY_RUNS["ae"], "trainer.max_epochs=1", f"run_dir={run_dir}")
    assert done.returncode == 0, done.stderr[-3000:]
    before = tree_checksums(run_dir)
    refused = train(f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "model.lr=0.5", "trainer.max_epochs=2")
    assert refused.returncode == 2
    assert "model.lr=0.5" in error_line(refused.stderr)
    assert tree_checksums(run_dir) == before


def test_slurm_requeue_signal_saves_and_exits_like_sigterm(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    proc = start_train(*LONG_AE, f"run_dir={run_dir}")
    wait_for_file(run_dir / "checkpoints" / "last.ckpt", proc)
    proc.send_signal(signal.SIGUSR1)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGUSR1, stderr[-3000:]
    assert "stopped by SIGUSR1" in error_line(stderr)
    assert 5 <= torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] < 300
