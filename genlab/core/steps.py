"""The one place that reads Lightning's private batch counter."""

from __future__ import annotations

import pytorch_lightning as pl


def logging_step(trainer: pl.Trainer) -> int:
    """The x-axis Lightning uses for ``self.log``: batches trained, also under manual optimization with
    several optimizers (where ``global_step`` counts every optimizer step)."""
    return trainer.fit_loop.epoch_loop._batches_that_stepped
