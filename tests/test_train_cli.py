"""End to end through the real scripts: a tracked run, its folder, the offline W&B record, evaluate, resume."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from tests.helpers import FAST, call_script, run_script, with_args
from tests.wandb_offline import read_offline_run

pytestmark = pytest.mark.slow  # real subprocesses of the scripts


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    run_dir = tmp_path_factory.mktemp("ae") / "run"
    result = run_script("train.py", "experiment=dae_mnist", *with_args(FAST, "trainer.limit_train_batches=30"),
                        "model.latent_dim=8", f"run_dir={run_dir}", "logger.mode=auto",
                        env={"WANDB_MODE": None, "WANDB_API_KEY": None, "NETRC": str(run_dir.parent / "none"),
                             "HOME": str(run_dir.parent)})
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, result


def test_run_folder_holds_config_checkpoints_and_pictures(trained):
    run_dir, _ = trained
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"]["latent_dim"] == 8 and config["experiment"] == "dae_mnist"
    assert len(config["git"]["commit"]) == 40 and isinstance(config["git"]["dirty"], bool)
    checkpoints = {p.name for p in (run_dir / "checkpoints").iterdir()}
    assert "last.ckpt" in checkpoints and any(n.startswith("best-") for n in checkpoints)
    assert list((run_dir / "images").glob("images_reconstructions_*.png"))
    assert list((run_dir / "images").glob("images_latent_scatter_*.png"))


def test_without_credentials_the_run_is_offline_and_says_how_to_sync(trained):
    run_dir, result = trained
    lines = [line for line in result.stderr.splitlines() if "wandb sync" in line]
    assert len(lines) == 1 and str(run_dir / "wandb") in lines[0]
    run = read_offline_run(run_dir)
    assert {"train/loss", "val/loss", "val/mse", "test/loss", "test/mse"} <= run.keys()
    assert all(torch.isfinite(torch.tensor(v)) for v in run.values("train/loss"))
    assert run.values("images/reconstructions") or any(k.startswith("images/reconstructions") for k in run.keys())
    assert any("reconstructions" in p.name for p in run.files) and any("latent_scatter" in p.name for p in run.files)
    assert run.config["model"]["latent_dim"] == 8 and run.config["run_dir"] == str(run_dir)


def test_evaluate_writes_metrics_json(trained):
    run_dir, _ = trained
    result = call_script("evaluate.py", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "trainer.limit_test_batches=3",
                        "trainer.enable_progress_bar=false")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics) == {"test/loss", "test/mse"} and 0 < metrics["test/mse"] < 1
    assert json.loads(result.stdout) == metrics


def test_resume_continues_the_same_run(trained, tmp_path):
    run_dir, _ = trained
    last = run_dir / "checkpoints" / "last.ckpt"
    before = torch.load(last, weights_only=True)
    result = call_script("train.py", f"ckpt={last}", "trainer.max_epochs=2")
    assert result.returncode == 0, result.stderr[-3000:]
    after = torch.load(last, weights_only=True)
    assert before["epoch"] == 0 and after["epoch"] == 1
    assert after["global_step"] == 2 * before["global_step"]
    assert after["optimizer_states"][0]["state"][0]["step"] == 2 * before["optimizer_states"][0]["state"][0]["step"]
    runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert {r.name.rsplit("-", 1)[1] for r in runs} == {(run_dir / "wandb_id.txt").read_text()}


@pytest.mark.parametrize("damage", ["truncated", "foreign", "other_model", "missing"])
def test_bad_checkpoints_are_one_line_errors(trained, tmp_path, damage):
    run_dir, _ = trained
    path = tmp_path / "x.ckpt"
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    if damage == "truncated":
        path.write_bytes((run_dir / "checkpoints" / "last.ckpt").read_bytes()[:5000])
    elif damage == "foreign":
        torch.save({"state_dict": checkpoint["state_dict"]}, path)
    elif damage == "other_model":
        checkpoint["genlab"]["config"]["model"]["name"] = "vae"
        torch.save(checkpoint, path)
    done = call_script("train.py", "experiment=ae_mnist", f"ckpt={path}", *FAST)
    code, err = done.returncode, done.stderr
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], err[-2000:]
    expected = {"truncated": "unreadable", "foreign": "not written by genlab", "other_model": "'vae' model",
                "missing": "does not exist"}[damage]
    assert expected in lines[0]
