"""Two real CPU processes (gloo) for the VAE and CycleGAN (the AE and GAN are in test_ddp.py / test_gan_ddp.py),
each in bf16-mixed precision, and a run launched by torchrun instead of Lightning: one run folder, one W&B run,
epoch metrics reduced over both ranks."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from lightning_modules.cyclegan import CycleGAN
from lightning_modules.vae import VAE
from tests.helpers import FAST, REPO, child_env, with_args
from tests.helpers import TINY_CYCLEGAN as TINY
from tests.wandb_offline import read_offline_run

TWO_RANKS = [*with_args(FAST, "trainer.devices=2"), "trainer.strategy=ddp", "trainer.precision=bf16-mixed"]


def _one_wandb_run(run_dir):
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # rank zero only
    return read_offline_run(run_dir)


@pytest.mark.slow
def test_vae_under_two_process_ddp_reduces_active_units_over_both_ranks(cli, tmp_path, data_dir):
    run_dir = tmp_path / "run"
    done = cli("train.py", "experiment=vae_mnist", "model.hidden=[32]", "model.latent_dim=4", "data.batch_size=16",
               *with_args(TWO_RANKS, "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                          "trainer.limit_test_batches=2"), "eval.iw_samples=4", "eval.iw_chunk=4", f"run_dir={run_dir}",
               timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Starting with 2 processes" in done.stderr
    run = _one_wandb_run(run_dir)
    # what callbacks.monitor is checked against is really logged
    assert set(VAE.Config.validation_metrics) <= run.keys()
    # 2 ranks x 2 test batches x 16 images: the statistic saw both ranks' data, not rank zero's 32
    assert run.values("test/active_units_images") == [64.0]
    assert 0 <= run.values("test/active_units")[0] <= 4
    assert all(math.isfinite(v) for v in run.values("test/nll_iw"))
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
def test_cyclegan_under_two_process_ddp_trains_and_tests(cli, tmp_path, data_dir):
    run_dir = tmp_path / "run"
    two_batches = with_args(TWO_RANKS, "trainer.limit_train_batches=2", "trainer.limit_test_batches=1")
    done = cli("train.py", *with_args(TINY, *two_batches, "data.test_batch_size=2"), f"run_dir={run_dir}",
               timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Starting with 2 processes" in done.stderr
    run = _one_wandb_run(run_dir)
    for key in ("train/G_A", "train/D_B", "test/cycle_l1_A", "test/kid_AtoB"):
        assert run.values(key) and all(math.isfinite(v) for v in run.values(key)), key
    assert CycleGAN.Config.validation_metrics == ()  # no validation: the experiment monitors nothing
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 2 * 2  # two optimizers step per batch, 2 batches on each rank


@pytest.mark.slow
def test_a_torchrun_launched_ddp_run_shares_one_folder_and_one_wandb_run(tmp_path, data_dir):
    """torchrun starts both ranks itself (as SLURM's srun does); Lightning joins them instead of spawning."""
    args = ["experiment=ae_mnist", "model.latent_dim=4", "data.batch_size=16",
            *with_args(TWO_RANKS, "trainer.accelerator=cpu", "trainer.limit_train_batches=3")]
    env = child_env({"OMP_NUM_THREADS": "1"})
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(REPO / "scripts" / "train.py"), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=400, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dirs = list((tmp_path / "runs" / "ae_mnist").iterdir())
    assert len(run_dirs) == 1 and run_dirs[0].name.startswith("torchelastic-")  # named after the launch both share
    run = _one_wandb_run(run_dirs[0])
    assert "train/loss" in run.keys() and run.values("test/loss")
    checkpoint = torch.load(run_dirs[0] / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 3
