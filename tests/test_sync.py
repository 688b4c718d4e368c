"""``scripts/sync.py``: a run folder (trained, stopped by a real SIGTERM, resumed twice, evaluated) becomes ONE W&B
run, written offline by the real wandb SDK and read back from disk: one id, each (metric, batch step) once, W&B
steps that only grow, the pictures, test metrics, config and checkpoint. Syncing again sends nothing; after one
more resume, exactly the new steps. The small pure functions are checked against hand-written folders."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from genlab.core.errors import ConfigError
from genlab.runner.run.sync import (
    best_checkpoint,
    checkpoints_to_log,
    plan_sync,
    read_history,
    read_pictures,
    record_live,
    record_sent,
    run_folders,
    summary_of,
)
from tests.helpers import FAST, REPO, child_env, error_line, run_script, train, wait_for_file, with_args
from tests.wandb_offline import read_offline_run


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted({k for row in rows for k in row})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        writer.writerows(rows)


def make_folder(root: Path, log_model: str = "last") -> Path:
    """A run folder as a train (steps 0-2, killed), a resume (steps 1-3: 1 and 2 trained again) and an
    evaluation (test metrics at the last step) leave it."""
    (root / "checkpoints").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "config.yaml").write_text(yaml.safe_dump({
        "experiment": "ae_mnist", "callbacks": {"monitor": "val/loss", "monitor_mode": "min"},
        "logger": {"log_model": log_model, "project": "genlab"}}))
    (root / "wandb_id.txt").write_text("abc123")
    write_csv(root / "csv/version_0/metrics.csv", [{"step": 0, "train/loss": 3.0}, {"step": 1, "train/loss": 2.0},
                                                   {"step": 1, "val/loss": 5.0}, {"step": 2, "train/loss": 1.5}])
    write_csv(root / "csv/version_1/metrics.csv", [{"step": 2, "train/loss": 1.5}, {"step": 3, "train/loss": 1.0},
                                                   {"step": 3, "val/loss": 4.0}, {"step": 4, "val/loss_best": 4.0}])
    write_csv(root / "csv/version_2/metrics.csv", [{"step": 4, "test/loss": 0.5}])
    (root / "images" / "images_reconstructions_step0000002.png").write_bytes(b"png")
    (root / "images" / "images_latent_scatter_step0000004.png").write_bytes(b"png")
    (root / "metrics.json").write_text(json.dumps({"test/loss": 0.5}))
    (root / "checkpoints" / "last.ckpt").write_bytes(b"last")
    return root


def test_history_keeps_each_metric_and_step_once_across_resumes(tmp_path):
    history = read_history(make_folder(tmp_path / "run"))
    assert history == {0: {"train/loss": 3.0}, 1: {"train/loss": 2.0, "val/loss": 5.0}, 2: {"train/loss": 1.5},
                       3: {"train/loss": 1.0, "val/loss": 4.0}, 4: {"val/loss_best": 4.0, "test/loss": 0.5}}


def test_pictures_are_read_at_their_step_under_their_key(tmp_path):
    run = make_folder(tmp_path / "run")
    assert read_pictures(run) == {2: {"images/reconstructions": run / "images/images_reconstructions_step0000002.png"},
                                  4: {"images/latent_scatter": run / "images/images_latent_scatter_step0000004.png"}}


def test_summary_holds_last_values_the_monitors_best_and_the_latest_test_metrics():
    history = {0: {"val/loss": 5.0, "epoch": 0.0}, 1: {"val/loss": 4.0, "test/loss": 0.9}, 2: {"val/loss": 4.5}}
    config = {"callbacks": {"monitor": "val/loss", "monitor_mode": "min"}}
    assert summary_of(history, config, {"test/loss": 0.5}) == {"val/loss": {"min": 4.0, "last": 4.5},
                                                              "test/loss": 0.5}


def test_checkpoints_follow_log_model(tmp_path):
    run = make_folder(tmp_path / "run")
    (run / "checkpoints" / "best-epoch001.ckpt").write_bytes(b"best")
    ckpts = run / "checkpoints"
    assert checkpoints_to_log(run, "last") == {ckpts / "last.ckpt": "last"}
    assert checkpoints_to_log(run, "best") == {ckpts / "best-epoch001.ckpt": "best"}
    assert checkpoints_to_log(run, "all") == {ckpts / "best-epoch001.ckpt": "best-epoch001",
                                              ckpts / "last.ckpt": "last"}
    assert checkpoints_to_log(run, "false") == {}
    assert best_checkpoint(tmp_path) is None


def test_a_plan_sends_what_is_new_and_nothing_once_recorded(tmp_path):
    run = make_folder(tmp_path / "run")
    plan = plan_sync(run, "offline")
    assert sorted(plan.rows) == [0, 1, 2, 3, 4] and plan.first_row == 0
    assert plan.rows[4]["test/loss"] == 0.5 and plan.rows[4]["trainer/global_step"] == 4
    assert plan.send_config and plan.summary["val/loss"] == {"min": 4.0, "last": 4.0}
    assert list(plan.checkpoints) == [run / "checkpoints" / "last.ckpt"]
    record_sent(plan)
    assert plan_sync(run, "offline").empty
    assert not plan_sync(run, "online:me/genlab").empty  # another destination has been sent nothing
    # one more resume: batch 4 trained (its metrics join the step the end-of-fit metrics were logged at), then 5
    write_csv(run / "csv/version_3/metrics.csv", [{"step": 4, "train/loss": 0.8}, {"step": 5, "train/loss": 0.7}])
    again = plan_sync(run, "offline")
    assert again.rows == {4: {"train/loss": 0.8, "trainer/global_step": 4},
                          5: {"train/loss": 0.7, "trainer/global_step": 5}}
    assert again.first_row == 5 and not again.send_config and not again.checkpoints
    assert "2 batch steps (4..5)" in again.describe()


def test_after_an_online_process_a_sync_sends_only_what_follows_it(tmp_path):
    run = make_folder(tmp_path / "run")
    record_live(run, rows=40)  # the live W&B run has 40 rows: everything the folder holds now
    plan = plan_sync(run, "online:/genlab")  # the config's project, no entity
    assert not plan.rows and not plan.send_config and plan.summary and plan.checkpoints  # those it did not send
    write_csv(run / "csv/version_3/metrics.csv", [{"step": 5, "train/loss": 0.7}])  # a resume logged offline
    assert plan_sync(run, "online:/genlab").first_row == 40 and list(plan_sync(run, "online:/genlab").rows) == [5]


def test_folders_holding_runs_are_searched_and_other_input_is_refused(tmp_path):
    a, b = make_folder(tmp_path / "sweep" / "0-a"), make_folder(tmp_path / "sweep" / "1-b")
    assert run_folders([tmp_path / "sweep"]) == [a.resolve(), b.resolve()]
    with pytest.raises(ConfigError, match="no run folders"):
        run_folders([tmp_path / "sweep" / "0-a" / "images"])
    with pytest.raises(ConfigError, match="not a folder"):
        run_folders([tmp_path / "missing"])


# --- the user's path: real runs, a real SIGTERM, real offline W&B runs read back ------------------------------

# added to the README's first command, which names the experiment and the W&B mode itself
AE = ["data.batch_size=64", "trainer.limit_train_batches=150", "checkpoint.every_n_steps=5",
      "trainer.limit_val_batches=1", "trainer.limit_test_batches=1", "trainer.num_sanity_val_steps=0",
      "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "trainer.accelerator=cpu",
      "trainer.devices=1", "trainer.log_every_n_steps=1", "logger.log_model=last"]


def sync(*args: str) -> str:
    done = run_script("sync.py", *args, "--mode", "offline")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def check_one_run(run_dir: Path) -> tuple:
    """The W&B record the syncs wrote, checked for what every synced run must be; returns it with its batch
    steps per metric."""
    record = read_offline_run(run_dir / "sync")
    assert record.run_id == (run_dir / "wandb_id.txt").read_text() and set(record.job_types) == {"train"}
    w_steps = [row["_step"] for row in record.history]
    assert w_steps == list(range(len(w_steps)))  # across every sync: strictly increasing, none lost
    seen: dict[str, list[int]] = {}
    for row in record.history:
        for key in row:
            if not key.startswith("_") and key != "trainer/global_step":
                seen.setdefault(key, []).append(row["trainer/global_step"])
    for key, steps in seen.items():
        assert len(steps) == len(set(steps)), f"{key} logged twice at a step"
    return record, seen


def cluster_commands() -> list[list[str]]:
    """The README's cluster workflow block, one command a line."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- cluster -->\n```bash\n(.*?)```\n<!-- /cluster -->", text, re.S)[1]
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_trained_stopped_resumed_twice_evaluated_then_synced_is_one_run(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # nothing may be staged outside the run folder
    env = child_env({"OMP_NUM_THREADS": "1"})
    commands = cluster_commands()
    assert [c[1] for c in commands] == [*["scripts/train.py"] * 3, "scripts/evaluate.py", *["scripts/sync.py"] * 2]
    assert all(c[0] == ".venv/bin/python" for c in commands)

    def start(command: list[str], *extra: str) -> subprocess.Popen:  # as written, in a checkout's place
        return subprocess.Popen([sys.executable, str(REPO / command[1]), *command[2:], *extra], cwd=tmp_path,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(command: list[str], *extra: str) -> str:
        stdout, stderr = (proc := start(command, *extra)).communicate(timeout=600)
        assert proc.returncode == 0, stderr[-3000:]
        return stdout

    run_dir = tmp_path / "runs" / "ae" / "r1"
    proc = start(commands[0], *AE, "trainer.max_epochs=1")
    wait_for_file(run_dir / "checkpoints" / "last.ckpt", proc)  # the first periodic save, at batch 5
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM and "SIGTERM" in error_line(stderr)
    assert "upload it later with: scripts/sync.py runs/ae/r1 " in stderr  # the offline line names the command
    for command in commands[1:4]:  # finishes epoch 0, trains epoch 1, evaluates
        run(command)
    dry = run(commands[4], "--mode", "offline")
    assert "would send 301 batch steps (0..300)" in dry and not (run_dir / "sync").exists()
    assert "sent 301 batch steps (0..300)" in run(commands[5], "--mode", "offline")
    record, seen = check_one_run(run_dir)
    assert seen["train/loss"] == list(range(300))  # each batch once, although the resume trained some again
    pictures = sorted((run_dir / "images").glob("*.png"))
    assert len(record.files) == len(pictures) >= 3
    for png in pictures:
        key, step = png.stem.replace("_", "/", 1).rsplit("_step", 1)
        assert int(step) in seen[f"{key}/_type"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {k: record.summary[k] for k in metrics} == metrics
    val = [row["val/loss"] for row in record.history if "val/loss" in row]
    assert record.summary["val/loss"] == {"min": min(val), "last": val[-1]} and len(val) == 2
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert record.config["model"] == config["model"] and record.config["experiment"] == "ae_mnist"
    artifact, = record.artifacts
    assert artifact.type == "model" and "last" in artifact.aliases
    staged = artifact.files["model.ckpt"]
    assert staged.is_relative_to(run_dir) and digest(staged) == digest(run_dir / "checkpoints" / "last.ckpt")
    assert not list((tmp_path / "home").rglob("staging/*"))

    assert "up to date" in sync(str(run_dir))  # nothing new: no W&B run is even started
    assert len(list((run_dir / "sync" / "wandb").glob("offline-run-*"))) == 1
    done = train("ckpt=auto", f"run_dir={run_dir}", "trainer.max_epochs=3")
    assert done.returncode == 0, done.stderr[-3000:]
    out = sync(str(tmp_path))  # a folder holding runs: all of them
    assert "sent 151 batch steps (300..450)" in out and "1 checkpoint (last.ckpt)" in out
    record, seen = check_one_run(run_dir)
    assert seen["train/loss"] == list(range(450)) and len(record.artifacts) == 2


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_gan_run_is_synced_at_batch_steps_not_optimizer_steps(tmp_path, tiny_classifier, data_dir):
    run_dir = tmp_path / "gan"
    args = ["experiment=gan_mnist", "model.ngf=8", "model.ndf=8", "data.batch_size=32", "model.d_steps=2",
            *with_args(FAST, "trainer.limit_train_batches=3", "trainer.limit_test_batches=0"), "logger.mode=offline",
            f"eval.classifier_ckpt={tiny_classifier}", f"run_dir={run_dir}"]
    for extra in (["trainer.max_epochs=2"], ["ckpt=auto", "trainer.max_epochs=3"]):
        done = train(*with_args(args, *extra))
        assert done.returncode == 0, done.stderr[-3000:]
    sync(str(run_dir))
    _, seen = check_one_run(run_dir)
    # 3 epochs of 3 batches; Lightning's own global_step counts 3 optimizer steps a batch (27)
    assert seen["train/g_loss"] == list(range(9)) and seen["train/d_loss"] == list(range(9))


@pytest.mark.slow
def test_sync_refuses_bad_input_in_one_line(tmp_path):
    done = run_script("sync.py", str(tmp_path / "missing"))
    assert done.returncode == 2 and "not a folder" in error_line(done.stderr)
    done = run_script("sync.py", "--nope", str(tmp_path))
    assert done.returncode == 2 and "unrecognized arguments" in error_line(done.stderr)
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_a_two_process_ddp_run_resumed_is_synced_as_one_run(tmp_path, data_dir):
    run_dir = tmp_path / "ddp"
    args = with_args(FAST, "trainer.devices=2", "trainer.limit_train_batches=6")
    args += ["experiment=ae_mnist", "trainer.strategy=ddp", "model.latent_dim=4", "data.batch_size=32",
             "logger.mode=offline", "logger.log_model=all", f"run_dir={run_dir}"]
    for extra in (["trainer.max_epochs=1"], ["ckpt=auto", "trainer.max_epochs=2"]):
        done = train(*with_args(args, *extra))
        assert done.returncode == 0, done.stderr[-3000:]
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 2  # one fragment per process of rank zero
    sync(str(run_dir))
    record, seen = check_one_run(run_dir)
    assert seen["train/loss"] == list(range(12))  # 6 batches an epoch on each rank, each logged once
    assert sorted(a for art in record.artifacts for a in art.aliases if a != "latest") == sorted(
        p.stem for p in (run_dir / "checkpoints").glob("*.ckpt"))  # log_model=all: every checkpoint
