"""``trainer.strategy=ddp`` with two real CPU processes (gloo): the GAN's toggled optimizers need DDP to find
unused parameters, which genlab.runner.run.build picks for it; pictures and the W&B run come from rank zero only.
The run starts from an empty cache: the MNIST classifier is trained once, before the ranks start."""

from __future__ import annotations

import math

import pytest

from lightning_modules.gan import GAN
from tests.helpers import FAST, TINY_CLASSIFIER_ARGS, fresh_machine, with_args
from tests.wandb_offline import read_offline_run


@pytest.mark.slow
def test_gan_trains_validates_and_tests_under_two_process_ddp_from_an_empty_cache(cli, tmp_path, data_dir):
    run_dir = tmp_path / "ddp"
    done = cli("train.py", "experiment=gan_mnist", "model.ngf=8", "model.ndf=8", "data.batch_size=16",
               *with_args(FAST, "trainer.devices=2", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                          "trainer.limit_test_batches=1"), "trainer.strategy=ddp", "eval.num_samples=32",
               *TINY_CLASSIFIER_ARGS, f"run_dir={run_dir}", env=fresh_machine(tmp_path), timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("genlab: training the MNIST classifier") == 1
    assert len(list((tmp_path / "cache").glob("mnist_classifier-*.pt"))) == 1
    assert "distributed_backend=gloo" in done.stderr and "Starting with 2 processes" in done.stderr
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1
    history = read_offline_run(run_dir)
    for key in ("train/g_loss", "train/d_loss", "train/D_x", "train/D_G_z", "val/fid", "test/fid", "test/kid",
                "test/fid_floor", "test/class_coverage"):
        assert history.values(key) and all(math.isfinite(v) for v in history.values(key)), key
    assert set(GAN.Config.validation_metrics) <= history.keys()  # what callbacks.monitor is checked against is logged
    assert sorted(p.name for p in (run_dir / "images").iterdir()) == [
        "images_fixed_noise_step0000002.png", "images_interpolation_step0000002.png"]
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
