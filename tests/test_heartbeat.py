"""The heartbeat off a terminal: a progress line every ``console.heartbeat_minutes`` in a log or a pipe, none on a
terminal where Lightning's bar shows the same; its line against hand-computed values."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from genlab.runner.run.console import _duration, heartbeat_line
from tests.helpers import QUIET, REPO, child_env, run_script

# a default progress bar (not switched off as QUIET does), so the output's kind decides bar or lines
TINY = ["experiment=ae_mnist", "data.batch_size=16", "model.hidden=[32]", "trainer.limit_train_batches=40",
        "trainer.max_epochs=1", *(a for a in QUIET if a != "trainer.enable_progress_bar=false"),
        "console.heartbeat_minutes=0.001"]
HEARTBEAT = re.compile(r"^epoch 1/1, batch (\d+)/40: [\d.e+]+ batches/s, epoch ETA \S+( \S+)? train/loss=[\d.]+$")


def test_heartbeat_line_and_duration_by_hand():
    # 10 batches in 4 s: 2.5 batches/s, 30 left of 40: 12 s
    assert heartbeat_line("2/5", 10, 40, 10, 4.0, {"train/loss": 0.25}) == \
        "epoch 2/5, batch 10/40: 2.5 batches/s, epoch ETA 12s train/loss=0.25"
    # an epoch of unknown length: no total, no ETA
    assert heartbeat_line("1", 3, float("inf"), 3, 1.5, {}) == "epoch 1, batch 3: 2 batches/s"
    assert (_duration(7.4), _duration(125), _duration(3720)) == ("7s", "2m 05s", "1h 02m")


@pytest.mark.slow
def test_a_run_whose_output_is_a_pipe_prints_heartbeats(tmp_path, data_dir):
    done = run_script("train.py", *TINY, f"run_dir={tmp_path / 'run'}")
    assert done.returncode == 0, done.stderr[-3000:]
    beats = [m for m in map(HEARTBEAT.match, done.stdout.splitlines()) if m]
    assert beats, done.stdout[-3000:]
    batches = [int(m.group(1)) for m in beats]
    assert batches == sorted(batches) and all(1 <= b <= 40 for b in batches)
    assert re.search(r"^epoch 1/1: 40 batches in", done.stdout, re.M)  # the epoch's own line still ends it


@pytest.mark.slow
def test_no_heartbeat_on_a_terminal(tmp_path, data_dir):
    leader, follower = pty.openpty()
    env = child_env({"OMP_NUM_THREADS": "1"})
    proc = subprocess.Popen([sys.executable, str(REPO / "scripts" / "train.py"), *TINY, f"run_dir={tmp_path / 'r'}"],
                            stdout=follower, stderr=follower, env=env, cwd=REPO)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the run ends
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=300) == 0, output[-3000:]
    text = output.decode(errors="replace")
    # Lightning's bar has the slot: neither heartbeats nor the per-epoch lines of logs
    assert "batches/s, epoch ETA" not in text and "40 batches in" not in text, text[-2000:]
