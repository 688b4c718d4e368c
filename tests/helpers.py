"""Shared helpers of the run-safety tests: tiny runs of the real train script, waiting on and signalling them,
comparing checkpoints and fingerprinting run folders."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from tests.conftest import REPO, run_script

# a real Lightning run on CPU that spends its time training, not on pictures, validation metrics or W&B
QUIET = ["trainer.limit_val_batches=1", "trainer.limit_test_batches=0", "trainer.num_sanity_val_steps=0",
         "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "trainer.accelerator=cpu",
         "trainer.devices=1", "trainer.log_every_n_steps=1", "callbacks.images=[]", "logger.mode=disabled"]

# one tiny configuration per model; each trains a few batches per epoch
TINY_RUNS = {
    "ae": ["experiment=ae_mnist", "data.batch_size=16", "trainer.limit_train_batches=6", *QUIET],
    "vae": ["experiment=vae_mnist", "model.hidden=[64]", "data.batch_size=16", "trainer.limit_train_batches=6",
            *QUIET],
    "gan": ["experiment=mlp_gan_mnist", "model.g_hidden=[64,128]", "model.d_hidden=[64]", "data.batch_size=16",
            "trainer.limit_train_batches=6",
            "callbacks.monitor=null", *QUIET, "trainer.limit_val_batches=0"],  # no FID classifier to train
    "cyclegan": ["experiment=cyclegan_monet_small", "data.load_size=36", "data.crop_size=32", "data.num_workers=0",
                 "model.ngf=8", "model.ndf=8", "model.n_blocks=1", "model.n_epochs=1", "model.n_epochs_decay=1",
                 "model.pool_size=3", "trainer.limit_train_batches=5", *QUIET],
}


def train(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return run_script("train.py", *args, **kwargs)


def start_train(*args: str) -> subprocess.Popen:
    """``scripts/train.py`` as a background process (for signals); stderr goes to a pipe."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(REPO / "scripts" / "train.py"), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until ``path`` exists; fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended (rc {proc.returncode}) before {path} appeared: "
                                 f"{proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]


def counters(ckpt: Path) -> tuple[int, int, int]:
    """(epoch, optimizer steps, batches trained: the W&B step axis) of a checkpoint."""
    c = torch.load(ckpt, map_location="cpu", weights_only=True)
    return c["epoch"], c["global_step"], c["loops"]["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"]


def assert_identical_weights(a: Path, b: Path) -> None:
    """Same weights bit for bit, and the same counters (Lightning's restart must not leave one a batch ahead)."""
    assert counters(a) == counters(b)
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    differ = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not differ, f"{len(differ)} tensors differ, e.g. {differ[0]}: max abs " \
                       f"{(wa[differ[0]].float() - wb[differ[0]].float()).abs().max().item()}"


def fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> digest)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def error_line(stderr: str) -> str:
    """The run's single ``error:`` line; fails on a traceback or on several error lines."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]
