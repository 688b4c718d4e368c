"""What genlab adds to Lightning checkpoints (the run config), and reading it back with clear errors."""

from __future__ import annotations

import os
import random
import signal
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io import TorchCheckpointIO
from pytorch_lightning.callbacks import Checkpoint, ModelCheckpoint
from pytorch_lightning.utilities import rank_zero_warn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from genlab.core.compat import stop_after_this_batch
from genlab.core.errors import CheckpointError, DivergenceError, RunInterrupted
from genlab.core.saved import KEY, SavedCheckpoint
from genlab.core.steps import batches_trained, logging_step


class SaveRunConfig(pl.Callback):
    """Stores the run's resolved config and the model's DataInfo in every checkpoint, so a checkpoint alone
    rebuilds its run, and its model (``load_from_checkpoint``) without reading any data."""

    def __init__(self, config: dict):
        self.config = config

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[KEY] = {"config": self.config, "data_info": asdict(pl_module.data_info)}


def run_dir_of(ckpt: str | Path) -> Path:
    """``<run>/checkpoints/x.ckpt`` -> ``<run>``; a checkpoint elsewhere stands for its own folder."""
    ckpt = Path(ckpt).resolve()
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint of ``run_dir`` written last (``last.ckpt`` unless a best-model file is newer), or None."""
    found = [p for p in (Path(run_dir) / "checkpoints").glob("*.ckpt") if p.is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime_ns, p.name == "last.ckpt")) if found else None


def check_fits(saved: SavedCheckpoint, model: torch.nn.Module) -> None:
    """Refuse a checkpoint whose weights do not fit ``model``, before anything of the run is written."""
    try:
        model.load_state_dict(saved.state_dict, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {saved.path} does not fit this model ({str(e).splitlines()[0]}); resume "
                              "with the checkpoint alone (ckpt=PATH) so its saved config is used") from None


def non_finite_tensors(state_dict: dict) -> list[str]:
    """Names of the floating-point tensors of ``state_dict`` holding a NaN or an infinity."""
    return [k for k, v in state_dict.items()
            if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())]


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a checkpoint to a temporary file beside it, then renames it over the old one.

    Lightning's default (``_atomic_save``) writes through fsspec, whose temporary file lives in ``$TMPDIR``: on
    another filesystem the final move is a copy, and a kill during it leaves a truncated ``last.ckpt``. A rename
    within one directory is atomic, so a reader sees the old checkpoint or the new one, never a part. Weights
    with NaN or infinities are refused here, the one place every checkpoint passes through.
    """

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        bad = non_finite_tensors(checkpoint.get("state_dict", {}))
        if bad:
            raise DivergenceError(f"not saving {path}: non-finite weights in {', '.join(bad[:3])}"
                                  f"{' ...' if len(bad) > 3 else ''}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; a checkpoint is an ordinary file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _rng_states() -> dict:
    """Every process-wide generator's state, in types ``torch.load(weights_only=True)`` reads back."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    states = {"python": random.getstate(), "torch": torch.get_rng_state(),
              "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                        "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    random.setstate(states["python"])
    n = states["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class RandomState(pl.Callback):
    """Keeps every rank's process-wide random generators (Python, NumPy, torch, CUDA) in every checkpoint and
    restores them just before the first training batch after a resume, so dropout, sampled noise and
    reparametrization draws continue the stream a straight run would have used (Lightning saves none of them).

    Lightning writes rank 0's checkpoint only, so the ranks' states are gathered into it (every rank builds the
    checkpoint, ``Trainer.save_checkpoint`` being called on all of them) as a list indexed by rank."""

    def __init__(self):
        self._fit_trainer: pl.Trainer | None = None
        self._pending: list[dict] | None = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        self._fit_trainer = trainer

    def state_dict(self) -> dict:
        states = _rng_states()
        if self._fit_trainer is not None and self._fit_trainer.world_size > 1:
            gathered: list = [None] * self._fit_trainer.world_size
            torch.distributed.all_gather_object(gathered, states)
            return {"rng": gathered}
        return {"rng": [states]}

    def load_state_dict(self, state_dict: dict) -> None:
        rng = state_dict["rng"]
        self._pending = rng if isinstance(rng, list) else [rng]  # one dict: a checkpoint of an earlier genlab

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._pending is not None:
            if len(self._pending) == trainer.world_size:
                _set_rng_states(self._pending[trainer.global_rank])
            else:  # another number of ranks: no rank's stream continues; each keeps its freshly seeded one
                rank_zero_warn(f"the checkpoint holds the random streams of {len(self._pending)} process(es), this "
                               f"run has {trainer.world_size}: training goes on, but not as the stopped run would")
        self._pending = None


class BestCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint for the best model, which also logs the best score so far as
    ``<monitor>_best``: a plain number in every logger, for a W&B sweep to optimise (the monitored metric's own
    W&B summary is a {best, last} pair, which the sweep controller cannot read) and for a table. The score comes
    from the checkpoint callback's state, so it survives a resume. ModelCheckpoint decides at validation end or
    at train epoch end (Lightning picks), so both hooks look for a new score."""

    _logged: float | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        self._log_best(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        self._log_best(trainer)

    def _log_best(self, trainer: pl.Trainer) -> None:
        if self.best_model_score is None or trainer.sanity_checking or float(self.best_model_score) == self._logged:
            return
        self._logged = float(self.best_model_score)
        for logger in trainer.loggers:
            logger.log_metrics({f"{self.monitor}_best": self._logged}, step=logging_step(trainer))


class LatestCheckpoint(Checkpoint):
    """``last.ckpt`` always holds the latest state: written every ``every_n_steps`` batches, every
    ``every_minutes`` of training, at every epoch end, and when a signal or Ctrl+C stops the run.

    Lightning's ``ModelCheckpoint(save_last=True)`` writes ``last`` only together with a top-k file and takes one
    trigger (steps, time or epochs); ``OnExceptionCheckpoint`` would also save after a divergence. This callback
    keeps "latest" apart from "best" (``ModelCheckpoint`` still picks that).

    Stopping signals (SIGTERM; SLURM's requeue signal SIGUSR1; submitit's preemption/timeout warning SIGUSR2) are
    only noted by the handler; after each batch the
    ranks agree whether any was signalled and then all stop at that batch, through Lightning's SIGTERM path.
    Lightning's own SIGTERM handler is replaced because it runs a collective inside the handler and lets each rank
    stop at the batch it happens to be on (Lightning #20806): under DDP the ranks could hang or save different
    batches, and a resume could not be exact.

    Submitit's own SIGUSR2 handler would requeue at once, mid-batch: a submitit job
    (``genlab.runner.sweep.multirun.TrainJob``) calls it after this save; Lightning puts it back when fit ends.
    """

    def __init__(self, dirpath: Path, every_n_steps: int = 0, every_minutes: float = 0.0):
        self.path = Path(dirpath) / "last.ckpt"
        self.every_n_steps, self.every_minutes = every_n_steps, every_minutes
        self.signum: int | None = None
        self._last_save = time.monotonic()

    def on_train_start(self, trainer, pl_module) -> None:
        self._last_save = time.monotonic()

        def note(signum, frame):
            self.signum = self.signum or signum

        signal.signal(signal.SIGTERM, note)  # Lightning restores the handlers it found when fit ends
        if hasattr(signal, "SIGUSR1"):
            previous = signal.getsignal(signal.SIGUSR1)

            def requeue(signum, frame):
                self.signum = signum
                if callable(previous):  # Lightning's SLURM handler: save its own checkpoint, requeue the job
                    previous(signum, frame)

            signal.signal(signal.SIGUSR1, requeue)
            signal.signal(signal.SIGUSR2, self._stop)

    def _stop(self, signum, frame) -> None:
        self.signum = self.signum or signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        stop = self.signum is not None
        if trainer.world_size > 1:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop:
            stop_after_this_batch(trainer)  # every rank, after this same batch; on_exception saves
            return
        if batch_idx + 1 >= trainer.num_training_batches:
            return  # the epoch-end save follows, after this epoch's validation
        due = self.every_n_steps > 0 and batches_trained(trainer) % self.every_n_steps == 0
        if self.every_minutes > 0:
            # ranks' clocks differ: rank 0 decides, as ModelCheckpoint(train_time_interval) does
            late = time.monotonic() - self._last_save >= self.every_minutes * 60
            due = trainer.strategy.broadcast(due or late)
        if due:
            self.save(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self.save(trainer)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException | KeyboardInterrupt):
            self.signum = self.signum or signal.SIGTERM
            self.save(trainer)

    def save(self, trainer) -> None:
        trainer.save_checkpoint(self.path)
        self._last_save = time.monotonic()

    def interruption(self, trainer: pl.Trainer, run_dir: Path) -> BaseException:
        """What ends a run this callback stopped and saved: on rank 0 the one line that says where it stopped and
        how to resume; on the other ranks (they share rank 0's stderr) a quiet exit with the same status."""
        signum = self.signum or signal.SIGTERM
        if trainer.global_rank != 0:
            return SystemExit(128 + signum)
        return RunInterrupted(f"stopped by {signal.Signals(signum).name} at epoch {trainer.current_epoch}, batch "
                              f"{batches_trained(trainer)}; saved {self.path}; resume with: scripts/train.py "
                              f"ckpt=auto run_dir={run_dir}", signum)
