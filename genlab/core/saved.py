"""What genlab keeps in a Lightning checkpoint beside Lightning's own state, and reading it back with clear errors.

``checkpoint[KEY]`` holds the run config (``"config"``) and the model's DataInfo (``"data_info"``), written by the
runner's ``SaveRunConfig``; models read them to rebuild themselves in ``load_from_checkpoint``, the runner to
resume and evaluate.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from genlab.core.data import DataInfo
from genlab.core.errors import CheckpointError
from genlab.core.schema import as_config

KEY = "genlab"


@dataclass(frozen=True)
class SavedCheckpoint:
    """A genlab checkpoint read once: its run config, its model's DataInfo (None in checkpoints older than that
    entry) and its weights, for every check a resume makes before Lightning loads the file itself."""

    path: Path
    config: dict
    data_info: dict | None
    state_dict: dict


def read_saved(path: str | Path) -> SavedCheckpoint:
    """The checkpoint at ``path``; CheckpointError for a missing, corrupt or foreign file, or one without a run
    config."""
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
    entry = checkpoint[KEY]
    config = entry.get("config") if isinstance(entry, dict) else None
    if not (isinstance(config, dict) and all(isinstance(config.get(g), dict) and config[g].get("name")
                                             for g in ("model", "data"))):
        raise CheckpointError(f"checkpoint {path} has a '{KEY}' entry without a run config (model and data "
                              "groups with their names); it is damaged or was not written by genlab's training")
    return SavedCheckpoint(path, config, entry.get("data_info"), checkpoint.get("state_dict") or {})


def read_checkpoint_config(path: str | Path) -> dict:
    """The run config saved in a genlab checkpoint."""
    return read_saved(path).config


def check_same_model(saved: dict, model_name: str, path: str | Path) -> None:
    saved_model = (saved.get("model") or {}).get("name")
    if saved_model != model_name:
        raise CheckpointError(f"checkpoint {path} holds a {saved_model!r} model but this run builds "
                              f"{model_name!r}; resume with the checkpoint alone (ckpt=PATH, no experiment) or "
                              "pick the matching experiment")


def constructor_args(path: str | Path, model_config: type, model_name: str | None, eval_config: type,
                     model_class: str = "") -> dict:
    """``cfg``, ``data_info`` and ``eval_cfg`` of the ``model_name`` model (None: any) saved in ``path``: its typed
    model and eval configs from the run config, its DataInfo as saved beside it. ``model_class`` names the model
    in the error for a checkpoint of another one."""
    checkpoint = read_saved(path)
    saved = checkpoint.config
    saved_model = saved["model"]["name"]
    if model_name is not None and saved_model != model_name:
        raise CheckpointError(f"checkpoint {path} holds a {saved_model!r} model, not a {model_class or model_name}")
    if checkpoint.data_info is None:
        raise CheckpointError(f"checkpoint {path} predates the DataInfo entry that load_from_checkpoint reads; "
                              "load it with genlab.load(path)")
    info = checkpoint.data_info
    return {"cfg": as_config(model_config, saved.get("model") or {}, "model"),
            "data_info": DataInfo(tuple(info["image_shape"]), tuple(info["value_range"]), info["num_classes"]),
            "eval_cfg": as_config(eval_config, saved.get("eval") or {}, "eval")}
