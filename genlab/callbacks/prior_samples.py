"""Grid of images decoded from a fixed batch of prior draws, so epochs are comparable picture to picture."""

from __future__ import annotations

import math

import pytorch_lightning as pl

from genlab.callbacks._helpers import eval_mode
from genlab.config.schema import CallbacksConfig
from genlab.images import image_grid, log_picture


class PriorSamples(pl.Callback):
    """Every ``image_every_n_epochs`` validation epochs. Needs ``pl_module.fixed_z`` (a buffer, so it is in
    the checkpoint) and ``pl_module.decode(z)`` -> images in the data range."""

    name = "prior_samples"

    def __init__(self, cfg: CallbacksConfig):
        self.every = cfg.image_every_n_epochs

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or trainer.current_epoch % self.every:
            return
        with eval_mode(pl_module):
            images = pl_module.decode(pl_module.fixed_z)
        grid = image_grid(images, pl_module.data_info.value_range, nrow=math.ceil(math.sqrt(len(images))))
        log_picture(trainer, "images/prior_samples", grid, "decoded from a fixed batch of z ~ N(0, I)")
