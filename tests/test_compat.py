"""The Lightning internals of genlab.core.compat still exist and still do what genlab relies on: this fails loudly
when an upgrade moves one."""

from __future__ import annotations

from genlab.core.compat import stop_after_this_batch
from tests.helpers import quiet_trainer


def test_stop_after_this_batch_is_lightnings_sigterm_flag():
    trainer = quiet_trainer()
    assert trainer.received_sigterm is False
    stop_after_this_batch(trainer)
    assert trainer.received_sigterm is True  # the flag Lightning's training loop raises SIGTERMException on
