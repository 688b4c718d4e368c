"""Shared plumbing of genlab's LightningModules: construction signature and loss-dict logging."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

import pytorch_lightning as pl
import torch
from omegaconf import MISSING
from pytorch_lightning.callbacks import RichProgressBar, TQDMProgressBar
from pytorch_lightning.utilities import rank_zero_warn

from genlab.core.data import DataInfo
from genlab.core.errors import CheckpointError
from genlab.core.saved import constructor_args
from genlab.core.schema import EvalConfig, ModelConfig
from genlab.core.steps import logs_this_step


class Ability(StrEnum):
    """What a model can do beyond training, declared in ``GenerativeModule.abilities``: the tools that draw from a
    checkpoint (``genlab.runner.tools``) choose by it instead of probing for methods."""

    GENERATE = "generate"  # generate(z) -> images for prior codes z (N, cfg.latent_dim)
    ENCODE = "encode"  # encode(x) -> codes, decode(codes) -> images, forward(x) -> reconstructions
    TRANSLATE = "translate"  # translator(direction) -> the network mapping one domain's images to the other's


class Need(StrEnum):
    """What a model needs made before Lightning starts (``GenerativeModule.needs``); ``genlab.runner.run.prepare``
    makes it and hands it over in ``GenerativeModule.prepared``."""

    CLASSIFIER = "classifier"  # the MNIST classifier behind FID/KID/IS of digits


@dataclass
class Prepared:
    """What ``genlab.runner.run.prepare`` handed the model. A plain object, not an ``nn.Module``: what it holds is
    not one of the model's weights, so it stays out of the model's state_dict, checkpoints and DDP's module tree."""

    classifier: torch.nn.Module | None = None


@dataclass
class TermSums:
    """The training terms summed over this epoch's batches so far, with the number of batches behind each sum. A
    sum is NaN or infinite once any batch's term was, which is what the divergence guard reads."""

    sums: dict[str, torch.Tensor | float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, value: torch.Tensor | float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value
        self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, torch.Tensor | float]:
        return {key: total / self.counts[key] for key, total in self.sums.items()}

    def reset(self) -> None:
        self.sums, self.counts = {}, {}


class GenerativeModule(pl.LightningModule):
    """Base of every model: built as ``Model(cfg, data_info, eval_cfg)`` by ``genlab.runner.run.build``.

    Subclasses set ``Config`` (their schema) and join ``lightning_modules.MODELS``; they compute their losses as a
    dict of named terms and hand it to ``log_terms``, so each term shows up as ``<stage>/<term>`` in W&B. They
    declare what they can do (``abilities``) and what must be made for them before a run (``needs``).
    """

    Config = ModelConfig
    abilities: ClassVar[frozenset[Ability]] = frozenset()
    # Read by genlab.runner.run.build when it makes the Trainer. Lightning's global_step and max_steps count
    # optimizer.step() calls; the top-level max_batches counts batches, so the Trainer's max_steps is it times this.
    optimizer_steps_per_batch: int = 1
    # True when a backward pass leaves trainable parameters without a gradient (toggled optimizers): DDP then
    # needs find_unused_parameters=True to finish its gradient reduction, so build picks that DDP variant.
    ddp_find_unused_parameters: bool = False

    def __init__(self, cfg: ModelConfig, data_info: DataInfo, eval_cfg: EvalConfig | None = None):
        super().__init__()
        self.cfg = cfg
        self.data_info = data_info
        self.eval_cfg = eval_cfg or EvalConfig()
        self._fast_paths_applied = False
        self.train_terms = TermSums()
        self.prepared = Prepared()

    def needs(self) -> frozenset[Need]:
        """What ``genlab.runner.run.prepare`` must make and put in ``self.prepared`` before fit/test: nothing
        unless a model says otherwise (per instance: it may depend on the data)."""
        return frozenset()

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """The input as the training step sees it: ``x`` itself unless the model corrupts its inputs (denoising),
        which the reconstruction pictures then show."""
        return x

    @property
    def attached_trainer(self) -> pl.Trainer | None:
        """The Trainer running this module, or None outside one (Lightning's ``trainer`` property raises then)."""
        try:
            return self.trainer
        except RuntimeError:
            return None

    def configure_model(self) -> None:
        """Apply the config's fast paths (``model.channels_last``, ``model.compile``) once. Lightning calls this
        hook at the start of every fit/validate/test, after the module is on its device."""
        if self._fast_paths_applied:
            return
        self._fast_paths_applied = True
        if self.cfg.channels_last:
            self.to(memory_format=torch.channels_last)  # 4-d weights only; activations follow the weights
        if self.cfg.compile:
            self.compile_networks()

    def compile_networks(self) -> None:
        """``torch.compile`` each child network with trainable parameters, in place (``nn.Module.compile``), so
        checkpoints keep their keys and the training steps (which call the networks) run compiled code."""
        from torch import _dynamo

        if not _dynamo.is_dynamo_supported():
            rank_zero_warn("model.compile=true: torch.compile is not supported on this platform; running eager")
            return
        # A network the compiler cannot handle (e.g. no C++ compiler for the CPU backend) runs eagerly instead of
        # failing the run; dynamo reports what fell back.
        _dynamo.config.suppress_errors = True
        for network in self.compilable_networks():
            network.compile()

    def compilable_networks(self) -> list[torch.nn.Module]:
        """The networks ``model.compile`` compiles: every child with trainable parameters, unless a model says
        otherwise."""
        return [child for child in self.children() if any(p.requires_grad for p in child.parameters())]

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path, map_location=None, hparams_file=None, strict=None,
                             weights_only=True, **kwargs):
        """Lightning's loader, the one way out of a checkpoint. Models take typed configs and a DataInfo, which
        Lightning's saved hyperparameters would have to pickle; the run config and DataInfo genlab stores in every
        checkpoint rebuild them instead. CheckpointError when the saved weights do not fit the model. A genlab
        checkpoint holds tensors and plain types only, so it loads with ``weights_only=True`` (no pickled code)."""
        if "cfg" not in kwargs:
            name = cls.Config.name if cls.Config.name != MISSING else None  # None: a schema of one's own, any model
            kwargs = {**constructor_args(checkpoint_path, cls.Config, name, EvalConfig, cls.__name__), **kwargs}
        try:
            return super().load_from_checkpoint(checkpoint_path, map_location, hparams_file, strict, weights_only,
                                                **kwargs)
        except RuntimeError as e:
            if "state_dict" not in str(e):
                raise
            raise CheckpointError(f"checkpoint {checkpoint_path} does not fit the {cls.__name__} its config "
                                  f"describes ({str(e).splitlines()[0]})") from None

    def log_terms(self, stage: str, terms: dict[str, torch.Tensor], prog_bar: bool = False,
                  batch_size: int | None = None) -> None:
        """Training terms per step as ``train/<term>`` and their epoch mean as ``train/<term>_epoch`` (so a run
        shorter than ``log_every_n_steps`` still has training curves); validation/test terms as epoch means
        (weighted by ``batch_size``) synced across DDP ranks."""
        values = {f"{stage}/{k}": v.detach() if torch.is_tensor(v) else v for k, v in terms.items()}
        if stage != "train":
            self.log_dict(values, on_step=False, on_epoch=True, prog_bar=prog_bar, sync_dist=True,
                          batch_size=batch_size)
            return
        # Each ``self.log`` costs Lightning about 1-2 ms per term on one CPU thread (a quarter of an MLP
        # autoencoder's 18 ms step). The step values are logged where they are used: on the batches Lightning
        # hands to the loggers, and on every batch while a live progress bar shows them. The epoch means are
        # summed here and logged once per epoch (Lightning's on_epoch=True would be a second call per batch; it
        # does not checkpoint its epoch accumulators either, so after a mid-epoch resume both cover the batches
        # since the resume), and the divergence guard reads the sums, which stop being finite with any batch.
        trainer = self.attached_trainer
        if (trainer is None or isinstance(trainer.progress_bar_callback, TQDMProgressBar | RichProgressBar)
                or logs_this_step(trainer)):
            self.log_dict(values, on_step=True, on_epoch=False, prog_bar=prog_bar, batch_size=batch_size)
        for key, value in values.items():
            self.train_terms.add(key, value.float() if torch.is_tensor(value) else float(value))

    def on_train_epoch_end(self) -> None:
        """Log the epoch means of the training terms (mean over batches), synced across DDP ranks."""
        means = self.train_terms.means()
        self.train_terms.reset()
        self.log_dict({f"{k}_epoch": mean for k, mean in means.items()}, on_step=False, on_epoch=True,
                      sync_dist=True)

    def output_activation(self, logits: torch.Tensor) -> torch.Tensor:
        """Map raw outputs onto the data's pixel range, so reconstructions and samples live where data does."""
        lo, hi = self.data_info.value_range
        if (lo, hi) == (0.0, 1.0):
            return torch.sigmoid(logits)
        if (lo, hi) == (-1.0, 1.0):
            return torch.tanh(logits)
        raise ValueError(f"no output activation for pixel range {lo}..{hi}")
