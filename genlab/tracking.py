"""Weights & Biases: online with credentials, offline without (never a prompt), or disabled."""

from __future__ import annotations

import netrc
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from omegaconf import DictConfig
from pytorch_lightning.loggers import WandbLogger
from pytorch_lightning.utilities import rank_zero_only


def has_wandb_credentials() -> bool:
    """An API key in the environment, an identity token file, or a netrc entry for the W&B host."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    candidates = [os.environ.get("NETRC"), Path.home() / ".netrc", Path.home() / "_netrc"]
    for path in filter(None, candidates):
        try:
            if netrc.netrc(str(path)).authenticators(host):
                return True
        except (OSError, netrc.NetrcParseError):
            continue
    return False


def resolve_mode(mode: str) -> str:
    """``auto`` -> ``online`` with credentials, else ``offline``; an explicit WANDB_MODE wins over auto."""
    if mode != "auto":
        return mode
    env = os.environ.get("WANDB_MODE")
    if env in ("online", "offline", "disabled"):
        return env
    if env == "dryrun":
        return "offline"
    return "online" if has_wandb_credentials() else "offline"


@rank_zero_only
def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def make_logger(cfg: DictConfig, run_dir: Path, run_id: str, config: dict) -> WandbLogger | None:
    """The run's WandbLogger (None when disabled). ``run_id`` is stable per run folder so resuming a
    checkpoint continues the same W&B run instead of starting a new one. ``config`` is the saved run config."""
    mode = resolve_mode(cfg.logger.mode)
    if mode == "disabled":
        return None
    # never wait for a key on stdin: a missing key is handled by choosing offline above
    os.environ.setdefault("WANDB_SILENT", "true")
    logger = WandbLogger(
        project=cfg.logger.project, entity=cfg.logger.entity, group=cfg.logger.group,
        name=cfg.logger.name or f"{cfg.experiment}/{run_dir.name}", tags=list(cfg.logger.tags),
        notes=cfg.logger.notes, save_dir=str(run_dir), id=run_id, resume="allow", mode=mode,
        config=config,
    )
    if mode == "offline":
        _say(f"W&B: logging offline (no credentials found) under {run_dir / 'wandb'}; upload later with: "
             f"wandb sync {run_dir / 'wandb'}/offline-run-*")
    return logger
