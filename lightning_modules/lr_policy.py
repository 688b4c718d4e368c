"""Learning-rate policies as multiplicative factors of the base rate (for ``torch.optim.lr_scheduler.LambdaLR``)."""

from __future__ import annotations


def linear_decay_factor(epoch: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1) -> float:
    """CycleGAN's ``linear`` policy: 1 for ``n_epochs`` epochs, then linearly towards 0 over ``n_epochs_decay``.

    ``epoch`` is the 0-indexed epoch being trained (the scheduler is stepped once per finished epoch); the rule
    and ``epoch_count=1`` are the official code's, so epoch 100 of 100 + 100 trains at 100/101 of the base rate
    and the last epoch at 1/101. Epochs past ``n_epochs + n_epochs_decay`` (a ``trainer.max_epochs`` beyond the
    schedule) train at 0, never below: the official rule alone would go negative there (gradient ascent).
    """
    return max(0.0, 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1))
