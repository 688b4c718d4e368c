"""The environment a run starts in, checked before anything is written (``check_environment``, called by
``check_before_run``): the variables W&B and the classifier cache read, and the folders they will write in.

What writes outside the run folder, read from the installed wandb 0.31 and genlab's own code:
- W&B (unless ``logger.mode=disabled`` or ``trainer.fast_dev_run``): wandb-core writes its debug logs under
  wandb's cache folder (``WANDB_CACHE_DIR``, else ``$XDG_CACHE_HOME/wandb``, else ``$HOME/.cache/wandb``). When it
  cannot, the run still trains but wandb-core prints its log lines on stderr. A ``WANDB_MODE`` wandb does not take
  fails in wandb's settings validation with a traceback, after the run folder was made.
- genlab passes the run folder as ``wandb.init(dir=...)``, so ``WANDB_DIR`` holds none of this run's files; an
  unwritable one is still refused, as the issue asks: it is where W&B's own tools started beside the run (a
  sweep's ``wandb agent``, ``wandb sync`` without a folder) write, and a run is the cheapest place to find it.
- The MNIST classifier behind the GAN's FID/KID on digits is trained once into ``GENLAB_CACHE_DIR`` (else
  ``$HOME/.cache/genlab``) when it is not cached yet (``genlab.runner.run.classifier_cache``).
"""

from __future__ import annotations

import os
import typing
from pathlib import Path

import platformdirs
from omegaconf import DictConfig

from genlab.core.errors import ConfigError
from genlab.runner.config import typed
from genlab.runner.config.load import check_writable_folder
from genlab.runner.run.classifier_cache import CACHE_ENV, cached_path

# wandb is imported by the checks that need it (it imports no torch, Lightning or matplotlib)


def check_environment(cfg: DictConfig) -> None:
    """One ConfigError line when W&B's variables or a folder this run's W&B or classifier cache writes in would
    fail it; nothing is checked that the run will not use."""
    if uses_wandb(cfg):
        _check_wandb_mode()
        _check_folder(wandb_cache_dir(), ("WANDB_CACHE_DIR", "XDG_CACHE_HOME", "HOME"),
                      "W&B writes its logs in", "or logger.mode=disabled")
        if os.environ.get("WANDB_DIR"):
            _check_folder(Path(os.environ["WANDB_DIR"]), ("WANDB_DIR",), "W&B's tools write in",
                          "or unset it: genlab keeps the run's W&B files in the run folder")
    if uses_classifier_cache(cfg):
        path = cached_path(typed(cfg.eval, "eval").classifier)
        if not path.is_file():  # cached already: only read
            _check_folder(path.parent, (CACHE_ENV, "HOME"), "the MNIST classifier behind FID/KID is trained into",
                          "or eval.classifier_ckpt=PATH")


def wandb_cache_dir() -> Path:
    """Where wandb-core writes its logs: wandb 0.31's rule (``wandb.env.get_cache_dir``), ``WANDB_CACHE_DIR`` else
    platformdirs' user cache folder for "wandb", written out here because genlab imports no wandb submodule
    (tests/test_tracking.py runs a training where each such import fails)."""
    return Path(os.environ.get("WANDB_CACHE_DIR") or platformdirs.user_cache_dir("wandb"))


def uses_wandb(cfg: DictConfig) -> bool:
    """Whether the run starts W&B: ``genlab.runner.run.tracking`` makes no W&B run when disabled, by
    ``logger.mode`` or by WANDB_MODE under ``auto``, nor under fast_dev_run."""
    mode = cfg.logger.mode
    if mode == "auto" and os.environ.get("WANDB_MODE") == "disabled":
        return False
    return mode != "disabled" and not cfg.trainer.fast_dev_run


def uses_classifier_cache(cfg: DictConfig) -> bool:
    """Whether the run may train the classifier into its cache: the GAN scores MNIST's digits with it (its
    ``needs_classifier``) when validation or test runs, unless ``eval.classifier_ckpt`` names one."""
    scored = cfg.trainer.limit_val_batches != 0 or cfg.trainer.limit_test_batches != 0
    return cfg.model.name == "gan" and cfg.data.name == "mnist" and not cfg.eval.classifier_ckpt and scored


def wandb_modes() -> tuple[str, ...]:
    """The modes the installed wandb takes (its Settings' ``mode`` field), not a copy of them that could age."""
    import wandb

    return typing.get_args(wandb.Settings.model_fields["mode"].annotation)


def _check_wandb_mode() -> None:
    value = os.environ.get("WANDB_MODE")
    if value is not None and value not in wandb_modes():
        raise ConfigError(f"WANDB_MODE={value!r}: wandb takes {', '.join(wandb_modes())}; set one of them or unset "
                          "it (logger.mode chooses the mode)")


def _check_folder(path: Path, variables: tuple[str, ...], writes: str, remedy: str) -> None:
    """``path`` can take new files, else one line naming the first of ``variables`` that is set (the one that
    put the folder there) and how to move it."""
    try:
        check_writable_folder(Path(path), "folder")
    except ConfigError as e:
        variable = next((v for v in variables if os.environ.get(v)), variables[-1])
        reason = str(e).split(": ", 1)[1]
        raise ConfigError(f"{variable}={os.environ.get(variable, '')}: {writes} {path}, but {reason}; point "
                          f"{variable} at a writable folder, {remedy}") from None
