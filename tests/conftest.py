"""Shared fixtures: the real data in ../shared/data, and runs of the real CLI scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENLAB_DATA_DIR") or REPO.parent / "shared" / "data")

# Tests never download: point every datamodule at the shared copy unless the caller chose another.
os.environ.setdefault("GENLAB_DATA_DIR", str(SHARED_DATA))
os.environ["WANDB_MODE"] = "offline"  # a developer's own credentials must not make tests go online
os.environ.setdefault("WANDB_SILENT", "true")

# Keeps CLI runs short: a few batches, no sanity check, no progress bars in the test log.
FAST = ["trainer.max_epochs=1", "trainer.limit_train_batches=8", "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2", "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu", "trainer.devices=1", "trainer.log_every_n_steps=1"]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["GENLAB_DATA_DIR"])
    if not (path / "MNIST" / "raw").is_dir():
        pytest.fail(f"MNIST not found under {path}; set GENLAB_DATA_DIR to the shared data folder")
    return path


def run_script(script: str, *args: str, cwd: Path | None = None, timeout: int = 600,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``scripts/<script>`` in a real subprocess with this interpreter; ``env`` values of None unset."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    return subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture
def cli():
    return run_script
