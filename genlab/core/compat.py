"""Lightning internals that genlab cannot avoid, one function each, with the version they were checked against
(pytorch_lightning 2.6.6); tests/test_compat.py fails loudly when one moves."""

from __future__ import annotations

import pytorch_lightning as pl


def stop_after_this_batch(trainer: pl.Trainer) -> None:
    """Make Lightning stop as it does on SIGTERM, at the end of the current training batch: its loop raises
    ``SIGTERMException`` once the batch's counters are complete, so a checkpoint saved then (``on_exception``) and
    the data position agree. No public API does this: ``Trainer.received_sigterm`` is read-only, and
    ``should_stop`` ends the run as finished, not interrupted. Checked against pytorch_lightning 2.6.6."""
    trainer._signal_connector.received_sigterm = True
