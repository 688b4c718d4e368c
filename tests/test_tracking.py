"""W&B mode choice: online when wandb finds credentials, offline without them or without a route to the server,
never a prompt. Credentials are made by the real ``wandb login`` command in a temporary HOME."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wandb

from genlab.runner.run.sync import finish_written
from genlab.runner.run.tracking import has_wandb_credentials, resolve_mode, sweep_parameters, without_keys
from tests.helpers import FAST, REPO, fresh_machine, with_args
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
    args = ["experiment=ae_mnist", *with_args(FAST, "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                                              "trainer.limit_test_batches=1")]
    start = time.monotonic()
    done = cli("train.py", *args, f"run_dir={tmp_path / 'auto'}", env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - start < 150
    line, = [x for x in done.stderr.splitlines() if x.startswith("W&B: logging offline")]
    assert f"W&B server {UNREACHABLE} unreachable" in line and f"scripts/sync.py {tmp_path / 'auto'} " in line
    assert read_offline_run(tmp_path / "auto").values("train/loss")

    done = cli("train.py", *args, "logger.mode=online", f"run_dir={tmp_path / 'online'}", env=env, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"error: W&B server {UNREACHABLE} unreachable")
    assert not (tmp_path / "online").exists()  # nothing of the failed start is left


# wandb's internals (wandb.sdk.*: wbauth does not exist in wandb 0.19) made unimportable for genlab's own code and
# the scripts, except genlab.core.compat: the one module that may reach a library's internals, each checked by
# tests/test_compat.py. Setting sys.modules entries to None would break wandb itself, which imports them lazily
WITHOUT_PRIVATE = """
import builtins, runpy, sys

real_import = builtins.__import__
OURS = ("genlab", "lightning_modules", "datamodules", "__main__")
COMPAT = "genlab.core.compat"


def guarded(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__", "")
    if level == 0 and importer.split(".")[0] in OURS and importer != COMPAT:
        wanted = [name, *(f"{name}.{item}" for item in fromlist or ())]
        if any(n.startswith("wandb.") and n not in ("wandb.errors",) for n in wanted):
            raise ImportError(f"{importer} imports wandb internals: {name} {fromlist}")
    return real_import(name, globals, locals, fromlist, level)


builtins.__import__ = guarded
script = sys.argv.pop(1)
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
"""


def run_without_private_wandb(script: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    full = {k: v for k, v in {**os.environ, "PYTHONPATH": str(REPO), **env}.items() if v is not None}
    return subprocess.run([sys.executable, "-c", WITHOUT_PRIVATE, str(REPO / "scripts" / script), *args],
                          capture_output=True, text=True, env=full, cwd=REPO, timeout=600)


@pytest.mark.slow
def test_train_and_evaluate_use_only_wandbs_public_api(tmp_path, data_dir):
    env = {**fresh_machine(tmp_path), "WANDB_SILENT": "false"}  # wandb's own warnings, if any, are shown
    old_way = tmp_path / "old_way.py"  # what genlab.runner.run.tracking once did: refused
    old_way.write_text("from wandb.sdk.lib import wbauth\n")
    refused = subprocess.run([sys.executable, "-c", WITHOUT_PRIVATE, str(old_way)], capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 1 and "imports wandb internals: wandb.sdk.lib" in refused.stderr
    run_dir = tmp_path / "run"
    done = run_without_private_wandb("train.py", "experiment=ae_mnist", *FAST, f"run_dir={run_dir}", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "W&B: logging offline (no W&B credentials" in done.stderr  # the credential check ran
    done = run_without_private_wandb("evaluate.py", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "anonymous" not in done.stderr
    record = read_offline_run(run_dir)
    assert record.values("train/loss") and record.values("test/loss")


def test_wandbs_lower_bound_is_the_version_the_suite_runs_with():
    """pyproject's lower bound for wandb may not name a version nobody ran the suite with: it equals the pin of
    constraints.txt (what `make` installs), which is the version installed here."""
    bound = re.search(r'"wandb>=([\d.]+),', (REPO / "pyproject.toml").read_text())[1]
    pin = re.search(r"^wandb==([\d.]+)$", (REPO / "constraints.txt").read_text(), re.M)[1]
    assert bound == pin == wandb.__version__


def test_under_a_sweep_agent_each_parameter_is_in_the_config_once(tmp_path, monkeypatch):
    config = {"seed": 1, "model": {"latent_dim": 8, "lr": 0.001}, "data": {"batch_size": 64}}
    assert without_keys(config, {"model.latent_dim", "seed"}) == {"model": {"lr": 0.001}, "data": {"batch_size": 64}}
    assert sweep_parameters() == set()
    params = tmp_path / "config-abc.yaml"  # what the agent writes before it starts the run
    params.write_text("wandb_version: 1\nmodel.latent_dim:\n  value: 16\nseed:\n  value: 2\n")
    monkeypatch.setenv("WANDB_SWEEP_PARAM_PATH", str(params))
    assert sweep_parameters() == {"model.latent_dim", "seed"}


def test_finish_written_ends_the_run_with_everything_it_logged_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = wandb.init(mode="offline", dir=str(tmp_path), project="genlab")
    for step in range(3):
        run.log({"loss": float(step)}, step=step)
    finish_written(run)
    assert wandb.run is None
    assert read_offline_run(tmp_path).values("loss") == [0.0, 1.0, 2.0]
