"""Shared plumbing of genlab's LightningModules: construction signature and loss-dict logging."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from datamodules.base import DataInfo
from genlab.config.schema import EvalConfig, ModelConfig


class GenerativeModule(pl.LightningModule):
    """Base of every model: built as ``Model(cfg, data_info, eval_cfg)`` by ``genlab.build``.

    Subclasses set ``name`` and ``Config`` to register, compute their losses as a dict of named terms and
    hand it to ``log_terms``, so each term shows up as ``<stage>/<term>`` in W&B.
    """

    Config = ModelConfig
    # Read by genlab.build when it makes the Trainer. Lightning's global_step and max_steps count
    # optimizer.step() calls; genlab's trainer.max_steps counts batches, so the Trainer gets it times this.
    optimizer_steps_per_batch: int = 1
    # True when a backward pass leaves trainable parameters without a gradient (toggled optimizers): DDP then
    # needs find_unused_parameters=True to finish its gradient reduction, so build picks that DDP variant.
    ddp_find_unused_parameters: bool = False
    # The batches the model's steps unpack (a datamodule's ``batches``), so a model/data mismatch is refused when
    # the config is composed instead of failing inside the first step.
    batches: str = "labelled images"
    # The metrics each validation logs (``callbacks.monitor`` must name one); checked when the config is composed,
    # not after the first epoch of training, and kept honest by the DDP tests that read back every logged key.
    validation_metrics: tuple[str, ...] = ()

    def __init__(self, cfg: ModelConfig, data_info: DataInfo, eval_cfg: EvalConfig | None = None):
        super().__init__()
        self.cfg = cfg
        self.data_info = data_info
        self.eval_cfg = eval_cfg or EvalConfig()

    def log_terms(self, stage: str, terms: dict[str, torch.Tensor], prog_bar: bool = False,
                  batch_size: int | None = None) -> None:
        """Training terms per step; validation/test terms as epoch means (weighted by ``batch_size``) synced
        across DDP ranks."""
        training = stage == "train"
        self.log_dict({f"{stage}/{k}": v.detach() if torch.is_tensor(v) else v for k, v in terms.items()},
                      on_step=training, on_epoch=not training, prog_bar=prog_bar, sync_dist=not training,
                      batch_size=batch_size)

    def output_activation(self, logits: torch.Tensor) -> torch.Tensor:
        """Map raw outputs onto the data's pixel range, so reconstructions and samples live where data does."""
        lo, hi = self.data_info.value_range
        if (lo, hi) == (0.0, 1.0):
            return torch.sigmoid(logits)
        if (lo, hi) == (-1.0, 1.0):
            return torch.tanh(logits)
        raise ValueError(f"no output activation for pixel range {lo}..{hi}")
