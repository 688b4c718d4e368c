"""What genlab adds to Lightning checkpoints (the run config), and reading it back with clear errors."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import pytorch_lightning as pl
import torch

from genlab.errors import CheckpointError

KEY = "genlab"


class SaveRunConfig(pl.Callback):
    """Stores the run's resolved config in every checkpoint, so a checkpoint alone rebuilds its run."""

    def __init__(self, config: dict):
        self.config = config

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[KEY] = {"config": self.config}


def read_checkpoint_config(path: str | Path) -> dict:
    """The run config saved in a genlab checkpoint; CheckpointError for a missing, corrupt or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; pass ckpt=PATH to a .ckpt file "
                              "(runs/<experiment>/<run>/checkpoints/last.ckpt)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {path} is unreadable ({reason[:200]}); it may be truncated or not a "
                              "PyTorch file") from None
    if not isinstance(checkpoint, dict) or KEY not in checkpoint:
        raise CheckpointError(f"checkpoint {path} was not written by genlab (no '{KEY}' entry); train with "
                              "scripts/train.py to get one")
    return checkpoint[KEY]["config"]


def run_dir_of(ckpt: str | Path) -> Path:
    """``<run>/checkpoints/x.ckpt`` -> ``<run>``; a checkpoint elsewhere stands for its own folder."""
    ckpt = Path(ckpt).resolve()
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent


def check_same_model(saved: dict, model_name: str, path: str | Path) -> None:
    saved_model = (saved.get("model") or {}).get("name")
    if saved_model != model_name:
        raise CheckpointError(f"checkpoint {path} holds a {saved_model!r} model but this run builds "
                              f"{model_name!r}; resume with the checkpoint alone (ckpt=PATH, no experiment) or "
                              "pick the matching experiment")
