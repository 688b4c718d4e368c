"""Real multi-process DDP on CPU (gloo) through the CLI: one run folder, one checkpoint set, one W&B run; a run
stopped by SIGTERM mid-epoch resumes bit-exact."""

from __future__ import annotations

import signal

import pytest
import torch

from datamodules.base import ResumableSampler
from lightning_modules.autoencoder import Autoencoder
from tests.helpers import (
    FAST,
    QUIET,
    assert_identical_weights,
    error_line,
    run_script,
    start_train,
    train,
    wait_for_file,
    with_args,
)
from tests.wandb_offline import read_offline_run


@pytest.mark.slow
def test_two_process_ddp_run_shares_one_run_folder(tmp_path, data_dir):
    args = with_args(FAST, "trainer.devices=2", "trainer.limit_train_batches=6")
    result = run_script("train.py", "experiment=ae_mnist", *args, "trainer.strategy=ddp", "model.latent_dim=4",
                        "data.batch_size=32", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dirs = list((tmp_path / "runs" / "ae_mnist").iterdir())
    assert len(run_dirs) == 1  # both ranks agreed on the folder
    run_dir = run_dirs[0]
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # only rank zero opened a W&B run
    run = read_offline_run(run_dir)
    assert "train/loss" in run.keys() and "test/loss" in run.keys()
    # what callbacks.monitor is checked against is logged
    assert set(Autoencoder.Config.validation_metrics) <= run.keys()
    # the DistributedSampler gives each rank its own share; each rank stepped once per batch it saw
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 6


# two ranks, epochs long enough that a signal sent after the first periodic checkpoint (batch 5) lands mid-epoch
DDP_AE = ["experiment=ae_mnist", "data.batch_size=16", "model.latent_dim=4", "trainer.limit_train_batches=30",
          "trainer.max_epochs=2", "checkpoint.every_n_steps=5", *(a for a in QUIET if not a.startswith("trainer.dev")),
          "trainer.devices=2", "trainer.strategy=ddp"]


@pytest.mark.slow
def test_ddp_run_stopped_mid_epoch_by_sigterm_resumes_bit_exact(tmp_path, data_dir):
    """Each rank's position in its share of the epoch and each rank's random streams come back from the
    checkpoint, so the resumed two-process run ends where the straight one does."""
    straight = train(*DDP_AE, f"run_dir={tmp_path / 'straight'}")
    assert straight.returncode == 0, straight.stderr[-3000:]
    run_dir = tmp_path / "run"
    proc = start_train(*DDP_AE, f"run_dir={run_dir}")  # Lightning's launcher is rank 0; it starts rank 1
    wait_for_file(run_dir / "checkpoints" / "last.ckpt", proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "stopped by SIGTERM" in error_line(stderr)
    stopped = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert stopped["epoch"] == 0 and 5 <= stopped["global_step"] < 30  # mid-epoch
    assert len(stopped["callbacks"]["RandomState"]["rng"]) == 2  # both ranks' streams
    resumed = train("ckpt=auto", f"run_dir={run_dir}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_identical_weights(tmp_path / "straight" / "checkpoints" / "last.ckpt", run_dir / "checkpoints" / "last.ckpt")


def test_ranks_take_turns_in_one_order_and_skip_within_their_share():
    whole = [i for _, i in ResumableSampler(10, seed=3)]
    ranks = [ResumableSampler(10, seed=3, num_replicas=2, rank=r) for r in (0, 1)]
    assert [i for _, i in ranks[0]] == whole[0::2] and [i for _, i in ranks[1]] == whole[1::2]
    ranks[1].skip = 2  # two items of its share already trained on
    assert [i for _, i in ranks[1]] == whole[1::2][2:]
    # 3 ranks: padded to 12 by repeating the first two items, as torch's DistributedSampler does
    padded = whole + whole[:2]
    assert [[i for _, i in ResumableSampler(10, 3, num_replicas=3, rank=r)] for r in range(3)] == \
        [padded[r::3] for r in range(3)]
