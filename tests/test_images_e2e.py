"""The Monet experiments end to end through the real scripts, each from an empty cache and a HOME without W&B
credentials; exact resume of gan_monet (DiffAugment's draws included); genlab.load and scripts/sample.py on the
checkpoints they write; gan_monet under two-process DDP."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import genlab
from tests.helpers import REPO, assert_identical_weights, child_env, fresh_machine, run_script, train, with_args

pytestmark = pytest.mark.slow

TINY = ["trainer.limit_train_batches=2", "trainer.max_epochs=1", "data.batch_size=8", "trainer.limit_val_batches=1",
        "trainer.limit_test_batches=1",
        "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false", "trainer.accelerator=cpu",
        "trainer.devices=1", "eval.num_samples=16", "eval.iw_samples=2"]
EXPERIMENTS = {
    "ae_monet": (["model.channels=8", "model.latent_dim=8"], {"test/loss", "test/mse"}),
    "vae_monet": (["model.channels=8", "model.latent_dim=8"], {"test/nll_iw", "test/bpd", "test/neg_elbo"}),
    "gan_monet": (["model.ngf=8", "model.ndf=8"],
                  {"test/fid", "test/kid", "test/mifid", "test/fid_floor", "test/kid_floor"}),
}


def _logged(run_dir) -> dict[str, float]:
    values = {}
    for path in sorted((run_dir / "csv").glob("version_*/metrics.csv")):
        with path.open() as f:
            for row in csv.DictReader(f):
                values.update({k: float(v) for k, v in row.items() if v not in ("", None)})
    return values


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir):
    """Each experiment at its default 64 px with tiny nets, trained from a fresh machine."""
    out = {}
    for name, (overrides, _) in EXPERIMENTS.items():
        tmp = tmp_path_factory.mktemp(name)
        done = train(f"experiment={name}", *TINY, *overrides, f"run_dir={tmp / 'run'}", env=fresh_machine(tmp))
        out[name] = (tmp / "run", done)
    return out


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_monet_experiment_trains_and_tests_from_a_fresh_machine(runs, name):
    run_dir, done = runs[name]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "255 train, 15 val, 30 test (64 px, 3 channel(s))" in done.stderr
    logged = _logged(run_dir)
    assert EXPERIMENTS[name][1] <= set(logged), sorted(logged)
    assert all(np.isfinite(logged[k]) for k in EXPERIMENTS[name][1])
    assert (run_dir / "checkpoints" / "last.ckpt").is_file() and list((run_dir / "images").glob("*.png"))
    if name == "gan_monet":
        assert {"val/fid"} <= set(logged) and not any(k.startswith(("val/class", "test/class")) for k in logged)
        if "no Inception installed" in done.stderr:  # the note, once, on one line
            assert done.stderr.count("no Inception installed") == 1
            assert "make install-inception" in done.stderr
    if name == "vae_monet":  # a density on [-1, 1]: bpd = (nll + D log 128) / (D ln 2), D = 3 * 64 * 64
        d = 3 * 64 * 64
        assert logged["test/bpd"] == pytest.approx((logged["test/nll_iw"] + d * np.log(128)) / (d * np.log(2)),
                                                   rel=1e-4)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_checkpoints_load_and_sample(runs, name, tmp_path):
    run_dir, done = runs[name]
    assert done.returncode == 0, done.stderr[-3000:]
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    model, cfg = genlab.load(ckpt)
    assert cfg.experiment == name and model.data_info.image_shape == (3, 64, 64)
    out = tmp_path / "samples.png"
    sampled = run_script("sample.py", f"ckpt={ckpt}", "n=4", "seed=0", f"out={out}")
    assert sampled.returncode == 0, sampled.stderr[-3000:]
    with Image.open(out) as image:
        assert image.mode == "RGB" and image.width >= 2 * 64


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
    logged = _logged(run_dir)
    assert {"val/fid", "test/fid", "test/kid", "test/mifid"} <= set(logged)
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["loops"]["fit_loop"][
        "epoch_loop.state_dict"]["_batches_that_stepped"] == 2


def test_gan_monet_benchmark_runs_in_tiny_mode(tmp_path, data_dir):
    done = subprocess.run([sys.executable, "benchmarks/gan_monet.py", "--tiny", "--eval-at", "0.02", "0.04",
                           "--num-samples", "16", "--out", str(tmp_path / "out"), "--grids", str(tmp_path / "grids")],
                          cwd=REPO, capture_output=True, text=True, timeout=900,
                          env=child_env({"OMP_NUM_THREADS": "1"}))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TINY MODE" in done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| on ", "| off "))]
    assert len(rows) == 2 and all(line.count("|") == 5 for line in rows), done.stdout[-2000:]
    for name in ("diffaugment", "plain"):
        with Image.open(tmp_path / "grids" / f"gan_monet_{name}.png") as grid:
            assert grid.mode == "RGB"
