"""A diverging run stops with one line naming the batch and the loss term, and never saves non-finite weights;
non-finite config values are refused before anything starts."""

from __future__ import annotations

import pytest
import torch

from genlab.runner.checkpoints import non_finite_tensors
from tests.helpers import TINY_RUNS, error_line, train


@pytest.mark.slow
def test_a_forced_nan_stops_the_run_and_no_checkpoint_holds_it(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    # Adam moves every weight by ~lr per step: 1e30 overflows the activations within a few batches
    done = train(*TINY_RUNS["ae"], "trainer.max_epochs=2", "model.lr=1e30", "checkpoint.every_n_steps=1",
                 f"run_dir={run_dir}")
    assert done.returncode == 3, done.stderr[-3000:]
    line = error_line(done.stderr)
    assert "diverged at batch" in line and ("train/" in line or "weight" in line)
    for ckpt in (run_dir / "checkpoints").glob("*.ckpt") if (run_dir / "checkpoints").exists() else []:
        assert not non_finite_tensors(torch.load(ckpt, weights_only=True)["state_dict"]), ckpt


@pytest.mark.slow
@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_non_finite_config_values_are_refused_before_anything_is_written(tmp_path, value, data_dir):
    done = train(*TINY_RUNS["ae"], f"model.lr={value}", f"run_dir={tmp_path / 'run'}")
    assert done.returncode == 2
    assert "model.lr" in error_line(done.stderr)
    assert not (tmp_path / "run").exists()
