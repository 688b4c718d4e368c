"""The one place that reads Lightning's batch counters (one of them private: checked against pytorch_lightning
2.6.6 by tests/test_compat.py)."""

from __future__ import annotations

import pytorch_lightning as pl


def logging_step(trainer: pl.Trainer) -> int:
    """The x-axis Lightning uses for ``self.log``: batches trained, also under manual optimization with
    several optimizers (where ``global_step`` counts every optimizer step)."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped


def batches_trained(trainer: pl.Trainer) -> int:
    """Training batches run so far over every resume, the current one included from its step on (so in
    ``on_train_batch_end`` it counts the batch just trained). Unlike ``logging_step`` it counts every batch, also
    those whose gradients are only accumulated."""
    return trainer.fit_loop.epoch_loop.batch_progress.total.ready


def logs_this_step(trainer: pl.Trainer) -> bool:
    """Whether the current training batch's step values are wanted: Lightning hands them to the loggers on every
    ``trainer.log_every_n_steps``-th batch (its ``should_update_logs`` rule), and the last batch of an epoch and of
    the run leave the values that the epoch's summary line and ``callback_metrics`` show."""
    n, batch = trainer.log_every_n_steps, logging_step(trainer) + 1
    last_of_epoch = trainer.fit_loop.epoch_loop.batch_progress.current.ready >= trainer.num_training_batches
    last_of_run = trainer.max_steps > 0 and trainer.global_step + 1 >= trainer.max_steps
    return (n > 0 and batch % n == 0) or trainer.should_stop or last_of_epoch or last_of_run

