"""What a run prints: progress bars on terminals, one line per epoch elsewhere, and none of the library
chatter that is not the user's business."""

from __future__ import annotations

import logging
import re
import sys
import time
import warnings

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ProgressBar
from pytorch_lightning.utilities import rank_zero_only

# Messages that say nothing about the user's run: Lightning's advertising tips (litlogger, litmodels), a
# deprecation inside Lightning's own _pytree helper, the "checkpoint directory exists" warning that every resume
# into its own run folder triggers, and the short-epoch logging hint (genlab also logs epoch means of the
# training terms, so short runs have curves anyway), and the note that test(ckpt_path="best") uses the first
# checkpoint callback (genlab builds the best-model one first; the other keeps last.ckpt), and the best-model
# checkpoint's complaint that its monitor is missing when a run stops (max_batches) before its first validation:
# the config check already refuses a monitor the model never logs.
NOISE = (r"💡 Tip:", r"`isinstance\(treespec, LeafSpec\)` is deprecated",
         r"Checkpoint directory .* exists and is not empty",
         r"is called with Trainer configured with multiple `ModelCheckpoint` callbacks",
         r"The number of training batches .* is smaller than the logging interval",
         r"`ModelCheckpoint\(monitor=.*\)` could not find the monitored key")
_NOISE_RE = re.compile("|".join(f"(?:{p})" for p in NOISE))


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _NOISE_RE.search(record.getMessage())


def quiet() -> None:
    """Silence ``NOISE`` in Lightning's log and in Python warnings (idempotent; each DDP process calls it)."""
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        # the package logger's handlers also see what its modules' loggers (checkpoint_connector, ...) propagate
        owners = (logging.getLogger(name), logging.getLogger(f"{name}.utilities.rank_zero"),
                  *logging.getLogger(name).handlers)
        for handler_owner in owners:
            if not any(isinstance(f, _DropNoise) for f in handler_owner.filters):
                handler_owner.addFilter(_DropNoise())
    for pattern in NOISE:
        warnings.filterwarnings("ignore", message=f".*{pattern}")


def is_terminal() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def _duration(seconds: float) -> str:
    """``1h 02m``, ``2m 05s``, ``7s``: an ETA that reads at a glance."""
    seconds = round(seconds)
    hours, minutes, secs = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _shown(metrics: dict) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


def heartbeat_line(epoch: str, batch: int, total: float, batches: int, seconds: float, terms: dict) -> str:
    """``epoch 2/10, batch 37/430: 2.31 batches/s, epoch ETA 2m 50s train/loss=0.1`` from ``batches`` run in
    ``seconds`` this epoch; no ETA for an epoch of unknown length."""
    rate = batches / seconds if seconds > 0 else 0.0
    known = total not in (None, float("inf"))
    eta = f", epoch ETA {_duration((total - batch) / rate)}" if known and rate > 0 else ""
    line = f"epoch {epoch}, batch {batch}{f'/{int(total)}' if known else ''}: {rate:.3g} batches/s{eta}"
    return f"{line} {_shown(terms)}".rstrip()


class EpochLines(ProgressBar):
    """Lightning's progress-bar slot filled with one line per finished epoch (for logs and pipes, where a bar's
    carriage returns become hundreds of lines): epoch, batches, seconds and the progress-bar metrics; and, when an
    epoch runs long, a heartbeat line every ``heartbeat_minutes`` (0: none) so a log shows the run is alive."""

    def __init__(self, heartbeat_minutes: float = 0.0) -> None:
        super().__init__()
        self._enabled = True
        self._start, self._batches = 0.0, 0
        self.heartbeat_seconds, self._last_line = heartbeat_minutes * 60, 0.0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start, self._batches = time.monotonic(), 0
        self._last_line = self._last_line or self._start

    @rank_zero_only
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._batches += 1
        now = time.monotonic()
        if not self._enabled or self.heartbeat_seconds <= 0 or now - self._last_line < self.heartbeat_seconds:
            return
        # the training terms as last handed to the loggers (every trainer.log_every_n_steps batches)
        terms = {k: float(v) for k, v in trainer.callback_metrics.items()
                 if k.startswith("train/") and not k.endswith("_epoch")}
        print(heartbeat_line(self._epoch(trainer), batch_idx + 1, trainer.num_training_batches, self._batches,
                             now - self._start, terms), flush=True)
        self._last_line = now

    @staticmethod
    def _epoch(trainer: pl.Trainer) -> str:
        total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        return f"{trainer.current_epoch + 1}{total}"

    @rank_zero_only
    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._enabled:
            return
        metrics = {k: v for k, v in self.get_metrics(trainer, pl_module).items() if k != "v_num"}
        self._last_line = time.monotonic()
        seconds = self._last_line - self._start
        print(f"epoch {self._epoch(trainer)}: {self._batches} batches in {seconds:.1f} s {_shown(metrics)}".rstrip(),
              flush=True)


def progress_callbacks(enable_progress_bar: bool | None, heartbeat_minutes: float = 0.0) -> list[ProgressBar]:
    """Lightning's own bar on a terminal; ``EpochLines`` (with its heartbeat) elsewhere; nothing when bars were
    switched off."""
    return [EpochLines(heartbeat_minutes)] if enable_progress_bar is not False and not is_terminal() else []
