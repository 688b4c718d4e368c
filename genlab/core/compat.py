"""Library internals that genlab cannot avoid, one function each, with the version they were checked against;
tests/test_compat.py fails loudly when one moves. Nothing here imports torch or Lightning at import time: the
config code that answers ``--help`` uses this module too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import DictConfig
from omegaconf.nodes import StringNode

if TYPE_CHECKING:
    import pytorch_lightning as pl


def stop_after_this_batch(trainer: pl.Trainer) -> None:
    """Make Lightning stop as it does on SIGTERM, at the end of the current training batch: its loop raises
    ``SIGTERMException`` once the batch's counters are complete, so a checkpoint saved then (``on_exception``) and
    the data position agree. No public API does this: ``Trainer.received_sigterm`` is read-only, and
    ``should_stop`` ends the run as finished, not interrupted. Checked against pytorch_lightning 2.6.6."""
    trainer._signal_connector.received_sigterm = True


def is_string_field(parent: DictConfig, key: str) -> bool:
    """Whether ``parent[key]`` is a field declared ``str`` in its schema, whatever it holds now (None included);
    untyped values are not. OmegaConf's public API gives values and the parent's type only;
    its node is the one place that keeps the declared type. Checked against omegaconf 2.4.0."""
    return isinstance(parent._get_node(key), StringNode)


def import_wandb_launch() -> None:
    """Import ``wandb.sdk.launch`` now, before torch and Lightning, when a W&B run will start. wandb 0.31.0's
    ``wandb.init`` imports it in every run (``Run._detect_and_apply_job_inputs``, no setting skips it), and its
    pydantic models read their attribute docstrings through ``inspect.getmodule``, which scans ``sys.modules``
    class after class: 2.0 s once torch and Lightning are loaded, 0.45 s before them, on this project's 2-core
    machine. Checked against wandb 0.31.0: tests/test_compat.py fails when ``wandb.init`` stops importing it."""
    import wandb.sdk.launch  # noqa: F401
