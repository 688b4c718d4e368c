"""genlab's one reader of Lightning's batch counter agrees with the step Lightning itself logs at, also under manual
optimization with two optimizers (where ``global_step`` counts optimizer steps)."""

from __future__ import annotations

import csv

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from genlab.core.steps import batches_trained, logging_step, logs_this_step
from tests.helpers import quiet_trainer


class TwoOptimizers(pl.LightningModule):
    """Two parameters, each with its own optimizer, stepped once per batch (the GAN's pattern)."""

    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.a, self.b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
        self.seen: list[int] = []

    def training_step(self, batch, batch_idx):
        (x,) = batch
        for net, opt in zip((self.a, self.b), self.optimizers(), strict=True):
            loss = net(x).pow(2).mean()
            opt.zero_grad()
            self.manual_backward(loss)
            opt.step()
        self.log("loss", loss)
        self.seen.append(logging_step(self.trainer))

    def configure_optimizers(self):
        return [torch.optim.SGD(self.a.parameters(), lr=0.1), torch.optim.SGD(self.b.parameters(), lr=0.1)]


def test_logging_step_is_the_step_lightning_logs_at(tmp_path):
    model = TwoOptimizers()
    trainer = quiet_trainer(max_epochs=2, logger=CSVLogger(tmp_path, name="csv"), log_every_n_steps=1)
    trainer.fit(model, DataLoader(TensorDataset(torch.randn(12, 2)), batch_size=4))
    with open(trainer.logger.log_dir + "/metrics.csv") as f:
        logged = [int(row["step"]) for row in csv.DictReader(f) if row["loss"]]
    # read inside each training_step: the step Lightning writes that step's values at (batches before it), while
    # global_step counts both optimizers' steps
    assert logged == model.seen == [0, 1, 2, 3, 4, 5]
    assert trainer.global_step == 12 and logging_step(trainer) == 6


class EveryStep(TwoOptimizers):
    """Logs at every batch and records which batches ``logs_this_step`` would keep."""

    def training_step(self, batch, batch_idx):
        super().training_step(batch, batch_idx)
        if logs_this_step(self.trainer):
            self.kept.append(logging_step(self.trainer))


def test_the_step_values_kept_are_the_ones_lightning_writes_and_each_epochs_last(tmp_path):
    model = EveryStep()
    model.kept = []
    trainer = quiet_trainer(max_epochs=2, logger=CSVLogger(tmp_path, name="csv"), log_every_n_steps=2)
    trainer.fit(model, DataLoader(TensorDataset(torch.randn(20, 2)), batch_size=4))  # 5 batches per epoch
    with open(trainer.logger.log_dir + "/metrics.csv") as f:
        written = [int(row["step"]) for row in csv.DictReader(f) if row["loss"]]
    assert set(written) <= set(model.kept)  # every value Lightning writes is still logged
    assert model.kept == [1, 3, 4, 5, 7, 9]  # every 2nd batch, plus the last of each epoch (4 and 9)


class Accumulating(pl.LightningModule):
    """One weight, gradients accumulated over two batches; records ``batches_trained`` after each batch."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2))
        self.trained: list[int] = []

    def training_step(self, batch, batch_idx):
        (x,) = batch
        return (x @ self.w).pow(2).mean()

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.trained.append(batches_trained(self.trainer))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_batches_trained_counts_every_batch_across_epochs_and_the_one_just_trained():
    model = Accumulating()
    trainer = quiet_trainer(max_epochs=2, accumulate_grad_batches=2)
    trainer.fit(model, DataLoader(TensorDataset(torch.randn(12, 2)), batch_size=4))
    # 3 batches per epoch; the optimizer steps on every 2nd (and each epoch's last), which logging_step counts
    assert model.trained == [1, 2, 3, 4, 5, 6] and batches_trained(trainer) == 6
    assert logging_step(trainer) == 4
