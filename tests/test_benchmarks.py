"""Each benchmark script runs end to end in its tiny mode, as a real subprocess (no timing asserted)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO


def run(*cmd: str, env: dict | None = None) -> str:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHON": sys.executable,
                **(env or {})}
    done = subprocess.run(list(cmd), cwd=REPO, capture_output=True, text=True, timeout=600, env=full_env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith(f"| {first_cell} ")]


@pytest.mark.slow
def test_overhead_tiny_times_the_same_work_in_both_loops():
    out = run(sys.executable, "benchmarks/overhead.py", "--tiny",
              "--variant", "nobar=trainer.enable_progress_bar=false")
    assert "TINY MODE" in out
    for kind in ("ae", "vae", "gan"):
        rows = {r[1]: r for r in table_rows(out, kind)}
        assert set(rows) == {"plain", "genlab", "genlab nobar"}
        assert all(float(r[2]) > 0 for r in rows.values())
        # same seed, same networks, same batches: the same loss after the same steps
        assert math.isclose(float(rows["plain"][6]), float(rows["genlab"][6]), rel_tol=1e-3), rows


@pytest.mark.slow
def test_throughput_tiny_has_a_row_per_model_and_path():
    # gan and cyclegan256 run in the gpu.sh dry run below
    out = run(sys.executable, "benchmarks/throughput.py", "--tiny", "--models", "ae", "vae", "cyclegan128",
              "--paths", "default", "channels_last")
    for model in ("ae", "vae", "cyclegan128"):
        rows = table_rows(out, model)
        assert [r[1] for r in rows[:2]] == ["default", "channels_last"]
        assert rows[2][1].startswith("DataModule") and rows[2][4].endswith("x model")
        assert all(float(r[2]) > 0 for r in rows)


@pytest.mark.slow
def test_gpu_script_dry_run_on_cpu(tmp_path, tiny_classifier):
    out = run("bash", "benchmarks/gpu.sh", "--dry-run",
              env={"OUT_DIR": str(tmp_path / "gpu"), "GENLAB_CLASSIFIER_CKPT": str(tiny_classifier)})
    report = (tmp_path / "gpu" / "gpu.md").read_text()
    assert report == out and "DRY RUN" in report and "stopped" not in report
    assert [r[1] for r in table_rows(report, "cyclegan256")[:3]] == ["default", "bf16-mixed", "16-mixed"]
    (gan,) = table_rows(report, "gan_mnist")  # the GAN run evaluated at its time mark
    ratio, coverage, _ = gan[2].split(", ")[:3]
    assert float(ratio) > 0 and coverage.endswith("/10")
    saved = json.loads((tmp_path / "gpu" / "gan" / "gan_mnist" / "checkpoints" / "t0.01min.metrics.json").read_text())
    assert math.isclose(saved["fid"] / saved["fid_floor"], float(ratio), rel_tol=1e-2)
