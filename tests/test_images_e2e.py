"""gan_monet through the real scripts: exact resume (DiffAugment's draws included), two-process DDP and its benchmark's
tiny mode. Every Monet experiment's first run on a fresh machine, and genlab.load and scripts/sample.py on its
checkpoint, are in test_first_contact.py."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from tests.helpers import assert_identical_weights, call_benchmark, last_logged, train, with_args

pytestmark = pytest.mark.slow

TINY = ["trainer.limit_train_batches=2", "trainer.max_epochs=1", "data.batch_size=8", "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false", "trainer.accelerator=cpu",
        "trainer.devices=1", "eval.num_samples=16", "eval.iw_samples=2"]


def test_gan_monet_resume_is_exact(tmp_path, data_dir):
    """Two epochs straight against one, then a resume for the second: DiffAugment's draws, the random crops and
    flips all come back, so the weights agree bit for bit."""
    args = ["experiment=gan_monet", "data.image_size=32", "data.crop=random", "data.load_size=40", "model.ngf=8",
            "model.ndf=8", "data.batch_size=8", "trainer.limit_train_batches=3", "trainer.limit_val_batches=1",
            "trainer.limit_test_batches=0", "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false",
            "callbacks.images=[]", "logger.mode=disabled"]
    straight = train(*args, "trainer.max_epochs=2", f"run_dir={tmp_path / 'straight'}")
    assert straight.returncode == 0, straight.stderr[-3000:]
    first = train(*args, "trainer.max_epochs=1", f"run_dir={tmp_path / 'resumed'}")
    assert first.returncode == 0, first.stderr[-3000:]
    last = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
    second = train(f"ckpt={last}", "trainer.max_epochs=2")
    assert second.returncode == 0, second.stderr[-3000:]
    assert torch.load(last, weights_only=True)["epoch"] == 1
    assert_identical_weights(tmp_path / "straight" / "checkpoints" / "last.ckpt", last)


def test_gan_monet_under_two_process_ddp(tmp_path, data_dir):
    run_dir = tmp_path / "ddp"
    done = train("experiment=gan_monet", "data.image_size=32", "model.ngf=8", "model.ndf=8",
                 *with_args(TINY, "trainer.devices=2"), "trainer.strategy=ddp", "logger.mode=disabled",
                 "callbacks.images=[]", f"run_dir={run_dir}")
    assert done.returncode == 0, done.stderr[-3000:]
    logged = last_logged(run_dir)
    assert {"val/fid", "test/fid", "test/kid", "test/mifid"} <= set(logged)
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["loops"]["fit_loop"][
        "epoch_loop.state_dict"]["_batches_that_stepped"] == 2


def test_gan_monet_benchmark_runs_in_tiny_mode(tmp_path, data_dir):
    printed = call_benchmark("gan_monet.py", "--tiny", "--eval-at", "0.02", "0.04", "--num-samples", "16", "--out",
                             str(tmp_path / "out"), "--grids", str(tmp_path / "grids"))
    assert "TINY MODE" in printed
    rows = [line for line in printed.splitlines() if line.startswith(("| on ", "| off "))]
    assert len(rows) == 2 and all(line.count("|") == 5 for line in rows), printed[-2000:]
    for name in ("diffaugment", "plain"):
        with Image.open(tmp_path / "grids" / f"gan_monet_{name}.png") as grid:
            assert grid.mode == "RGB"
