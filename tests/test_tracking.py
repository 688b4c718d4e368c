"""W&B mode choice: online when wandb finds credentials, offline without them or without a route to the server,
never a prompt. Credentials are made by the real ``wandb login`` command in a temporary HOME."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wandb

from genlab.runner.tracking import has_wandb_credentials, resolve_mode
from tests.helpers import FAST, fresh_machine
from tests.wandb_offline import read_offline_run

KEY = "k" * 40
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there


def wandb_login(env: dict, *args: str) -> None:
    """Run the real ``wandb login`` CLI (offline: --no-verify) in the environment ``env`` (None values unset)."""
    full = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    done = subprocess.run([str(Path(sys.executable).parent / "wandb"), "login", *args, "--no-verify", KEY],
                          capture_output=True, text=True, env=full, cwd=env["HOME"], timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    env = fresh_machine(tmp_path)
    for var, value in env.items():
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    wandb.teardown()  # wandb caches its settings per process: read them again from this HOME
    yield env
    wandb.teardown()


def test_auto_is_offline_without_credentials(no_credentials):
    assert not has_wandb_credentials()
    mode, why = resolve_mode("auto")
    assert mode == "offline" and "no W&B credentials" in why


def test_auto_is_online_with_an_api_key(no_credentials, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode("auto")[0] == "online"


@pytest.mark.slow
def test_auto_is_online_after_wandb_login(no_credentials):
    wandb_login(no_credentials)
    assert has_wandb_credentials()
    assert resolve_mode("auto")[0] == "online"


def test_explicit_modes_win(no_credentials, monkeypatch):
    assert resolve_mode("disabled")[0] == "disabled"
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode("auto") == ("offline", "WANDB_MODE=offline")
    assert resolve_mode("online")[0] == "online"
    assert resolve_mode("offline") == ("offline", "logger.mode=offline")


@pytest.mark.slow
def test_unreachable_server_auto_goes_offline_in_bounded_time_and_online_fails_in_one_line(cli, tmp_path, data_dir):
    env = {**fresh_machine(tmp_path), "WANDB_INIT_TIMEOUT": "3"}
    wandb_login(env, "--host", UNREACHABLE)
    args = ["experiment=ae_mnist", *FAST, "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
            "trainer.limit_test_batches=1"]
    start = time.monotonic()
    done = cli("train.py", *args, f"run_dir={tmp_path / 'auto'}", env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - start < 150
    line, = [x for x in done.stderr.splitlines() if x.startswith("W&B: logging offline")]
    assert f"W&B server {UNREACHABLE} unreachable" in line and f"wandb sync {tmp_path / 'auto' / 'wandb'}" in line
    assert read_offline_run(tmp_path / "auto").values("train/loss")

    done = cli("train.py", *args, "logger.mode=online", f"run_dir={tmp_path / 'online'}", env=env, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"error: W&B server {UNREACHABLE} unreachable")
    assert not (tmp_path / "online").exists()  # nothing of the failed start is left
