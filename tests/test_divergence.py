"""A diverging run stops with one line naming the batch and the loss term, and never saves non-finite weights;
non-finite config values are refused before anything starts."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from genlab.core.errors import DivergenceError
from genlab.runner.run.checkpoints import non_finite_tensors
from genlab.runner.run.divergence import DivergenceGuard
from tests.helpers import TINY_RUNS, error_line, quiet_trainer, train


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


class _OneWeight(pl.LightningModule):
    """A weight the test sets by hand in each step; the loss stays finite."""

    def __init__(self, value: float):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2))
        self.value = value

    def training_step(self, batch, batch_idx):
        with torch.no_grad():
            self.w.fill_(self.value)
        loss = torch.nan_to_num(self.w * 0.0).sum() + batch.sum()
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.zeros(4, 1), batch_size=1)


@pytest.mark.parametrize("value, fails", [(float("nan"), True), (3e38, False)])
def test_the_guard_names_a_non_finite_weight_and_lets_a_large_finite_one_pass(value, fails):
    # 3e38 twice sums to inf in float32: the cheap check fires, the element-wise confirmation clears it
    trainer = quiet_trainer(max_steps=3, callbacks=[DivergenceGuard()], logger=False, enable_checkpointing=False)
    if fails:
        with pytest.raises(DivergenceError, match=r"diverged at batch 1 \(epoch 0\): weight w is not finite"):
            trainer.fit(_OneWeight(value))
    else:
        trainer.fit(_OneWeight(value))
        assert trainer.global_step == 3
