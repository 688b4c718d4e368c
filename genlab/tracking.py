"""Weights & Biases: online with credentials, offline without (never a prompt), or disabled."""

from __future__ import annotations

import netrc
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from omegaconf import DictConfig
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only

CSV_DIR = "csv"  # <run>/csv/version_<n>/metrics.csv: one version per process that logged (train, resume, evaluate)
# logger.log_model -> WandbLogger's log_model: Lightning logs checkpoints as "model" artifacts, either once at the
# end of a successful fit (every checkpoint then on disk, the best one aliased "best") or each time one is saved
LOG_MODEL = {"false": False, "last": True, "best": True, "all": "all"}


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


def make_loggers(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, job_type: str = "train",
                 mode: str | None = None) -> list[Logger]:
    """W&B (unless disabled) and a local CSV copy of every logged scalar, so the run folder alone holds every
    number (``genlab.compare`` reads it without W&B). ``mode`` overrides ``cfg.logger.mode`` (evaluate follows
    the mode its run was trained in)."""
    wandb_logger = make_logger(cfg, run_dir, run_id, config, job_type, mode)
    csv_logger = CSVLogger(save_dir=str(run_dir), name=CSV_DIR)  # a new version_<n>: a resume never overwrites
    return [wandb_logger, csv_logger] if wandb_logger is not None else [csv_logger]


@rank_zero_only
def start_wandb_run(loggers: list[Logger], cfg: DictConfig, run_dir: Path) -> None:
    """Create the W&B run now, record the id W&B gave it (an agent of a W&B sweep chooses its own id) and
    summarise the monitored metric by its best value beside its last."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            (run_dir / "wandb_id.txt").write_text(run.id)
            if cfg.callbacks.monitor:
                run.define_metric(cfg.callbacks.monitor, summary=f"{cfg.callbacks.monitor_mode},last",
                                  step_metric="trainer/global_step")


def make_logger(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, job_type: str = "train",
                mode: str | None = None) -> WandbLogger | None:
    """The run's WandbLogger (None when disabled). ``run_id`` is stable per run folder so resuming a
    checkpoint continues the same W&B run instead of starting a new one. ``config`` is the saved run config."""
    why = "as its run was" if mode else "no credentials found"
    mode = mode or resolve_mode(cfg.logger.mode)
    if mode == "disabled":
        return None
    # never wait for a key on stdin: a missing key is handled by choosing offline above
    os.environ.setdefault("WANDB_SILENT", "true")
    logger = WandbLogger(
        project=cfg.logger.project, entity=cfg.logger.entity, group=cfg.logger.group or cfg.experiment,
        job_type=job_type, log_model=LOG_MODEL[str(cfg.logger.log_model).lower()],
        name=cfg.logger.name or f"{cfg.experiment}/{run_dir.name}", tags=list(cfg.logger.tags),
        notes=cfg.logger.notes, save_dir=str(run_dir), id=run_id, resume="allow", mode=mode,
        config=config,
    )
    if mode == "offline":
        _say(f"W&B: logging offline ({why}) under {run_dir / 'wandb'}; upload later with: "
             f"wandb sync {run_dir / 'wandb'}/offline-run-*")
    return logger
