"""Weights & Biases: online when wandb finds credentials, offline without them or without a route to the server
(never a prompt, never a hang), or disabled. Every offline run says why, once, with the command that uploads it."""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import wandb
from omegaconf import DictConfig
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only
from wandb.sdk import wandb_setup
from wandb.sdk.lib import wbauth

from genlab.core.errors import GenlabError
from genlab.runner.rundir import CSV_DIR

# Seconds wandb.init may spend reaching the server before `auto` gives up and logs offline (wandb's own
# default is 90 s, and its retries about double it); WANDB_INIT_TIMEOUT, wandb's variable, overrides it.
INIT_TIMEOUT_S = 20


class TrackingError(GenlabError):
    """W&B was asked to be online and cannot be."""


# logger.log_model -> WandbLogger's log_model: Lightning logs checkpoints as "model" artifacts, either once at the
# end of a successful fit (every checkpoint then on disk, the best one aliased "best") or each time one is saved
LOG_MODEL = {"false": False, "last": True, "best": True, "all": "all"}


def has_wandb_credentials() -> bool:
    """Whether wandb itself finds credentials for the host it will use: WANDB_API_KEY, an identity token file,
    the netrc entry ``wandb login`` wrote, or an api_key setting. No prompt and no network."""
    # wandb.login(prompt=False, verify=False) answers the same but also rewrites wandb's settings file; this is
    # the read-only lookup it and wandb.init run (update_session=False keeps the process's session untouched)
    settings = wandb_setup.singleton().settings
    host = wbauth.HostUrl(settings.base_url, app_url=settings.app_url)
    try:
        return wbauth.authenticate_session(host=host, source="genlab", prompt=False, verify=False,
                                           update_session=False) is not None
    except wandb.errors.AuthenticationError:
        return False


def resolve_mode(mode: str) -> tuple[str, str]:
    """(mode, why): ``auto`` -> ``online`` with credentials, else ``offline``; an explicit WANDB_MODE wins
    over auto. ``why`` is what the offline line tells the user."""
    if mode != "auto":
        return mode, f"logger.mode={mode}"
    env = os.environ.get("WANDB_MODE")
    if env in ("online", "offline", "disabled", "dryrun"):
        return ("offline" if env == "dryrun" else env), f"WANDB_MODE={env}"
    if has_wandb_credentials():
        return "online", "credentials found"
    return "offline", "no W&B credentials; run `wandb login` to log online"


@rank_zero_only
def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def last_logged_step(run_dir: Path) -> int:
    """The highest step any earlier process of this run logged (its CSV copies), -1 when none did."""
    steps = [-1]
    for path in Path(run_dir, CSV_DIR).glob("version_*/metrics.csv"):
        with path.open(newline="") as f:
            steps += [int(row["step"]) for row in csv.DictReader(f) if row.get("step")]
    return max(steps)


class RunWandbLogger(WandbLogger):
    """Lightning's WandbLogger that logs nothing at or below ``logged_up_to``: a resumed run trains the batches
    between its checkpoint and the fault again, with the same values (exact resume), and the run's record already
    holds them. W&B's own row counter is left to W&B (Lightning logs epoch-end metrics one batch behind the
    pictures of that epoch, so a forced step would drop them); the plots' x-axis is ``trainer/global_step``."""

    def __init__(self, *args, logged_up_to: int = -1, **kwargs):
        super().__init__(*args, **kwargs)
        self._logged_up_to = logged_up_to

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if step is None or step > self._logged_up_to:
            super().log_metrics(metrics, step)


def make_loggers(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, job_type: str = "train",
                 mode: str | None = None) -> list[Logger]:
    """W&B (unless disabled) and a local CSV copy of every logged scalar, so the run folder alone holds every
    number (``genlab.runner.compare`` reads it without W&B). ``mode`` overrides ``cfg.logger.mode`` (evaluate follows
    the mode its run was trained in)."""
    wandb_logger = make_logger(cfg, run_dir, run_id, config, job_type, mode)
    # a new version_<n>: a resume never overwrites; written at every log call, so a killed run's copy is complete
    # up to its last logged step (what a resume skips in W&B, see RunWandbLogger)
    csv_logger = CSVLogger(save_dir=str(run_dir), name=CSV_DIR, flush_logs_every_n_steps=1)
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


def _wandb_logger(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, mode: str,
                  job_type: str) -> WandbLogger:
    kwargs = dict(
        project=cfg.logger.project, entity=cfg.logger.entity, group=cfg.logger.group or cfg.experiment,
        job_type=job_type, log_model=LOG_MODEL[str(cfg.logger.log_model).lower()],
        name=cfg.logger.name or f"{cfg.experiment}/{run_dir.name}", tags=list(cfg.logger.tags),
        notes=cfg.logger.notes, save_dir=str(run_dir), id=run_id, resume="allow", mode=mode,
        config=config,
    )
    # evaluate logs once, after training's steps, at a step its trainer does not know: W&B numbers it
    logger = (RunWandbLogger(logged_up_to=last_logged_step(run_dir), **kwargs) if job_type == "train"
              else WandbLogger(**kwargs))
    # Lightning always passes anonymous=None, which wandb 0.31 answers with a deprecation warning
    logger._wandb_init.pop("anonymous", None)
    return logger


def _server() -> str:
    return wandb_setup.singleton().settings.base_url


def make_logger(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, job_type: str = "train",
                mode: str | None = None) -> WandbLogger | None:
    """The run's WandbLogger (None when disabled, or under fast_dev_run, where Lightning makes no W&B run).
    ``run_id`` is stable per run folder so resuming a checkpoint continues the same W&B run instead of starting
    a new one. ``config`` is the saved run config; ``mode`` overrides ``cfg.logger.mode`` (evaluate follows
    its run).

    An online run is started here, on rank zero, so that a server out of reach is found before training:
    ``auto`` then goes on offline, an explicit ``online`` stops with a TrackingError."""
    # before wandb first reads its settings (the credential lookup does): later changes are ignored
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_INIT_TIMEOUT", str(INIT_TIMEOUT_S))
    mode, why = (mode, "as its run was") if mode else resolve_mode(cfg.logger.mode)
    if mode == "disabled" or cfg.trainer.fast_dev_run:
        return None
    if mode == "online":
        logger = _wandb_logger(cfg, run_dir, run_id, config, mode, job_type)
        try:
            logger.experiment  # noqa: B018 - starts the run (rank zero only; a no-op elsewhere)
            return logger
        except wandb.errors.CommError as e:
            reason = str(e).splitlines()[0]
            if cfg.logger.mode == "online":
                raise TrackingError(f"W&B server {_server()} unreachable ({reason}); use logger.mode=auto to "
                                    "log offline and sync later") from None
            mode, why = "offline", f"W&B server {_server()} unreachable"
            # the service still holds the failed run's id: a fresh one takes the offline run under the same id
            wandb.teardown()
    logger = _wandb_logger(cfg, run_dir, run_id, config, mode, job_type)
    _say(f"W&B: logging offline ({why}) under {run_dir / 'wandb'}; upload later with: "
         f"wandb sync {run_dir / 'wandb'}/offline-run-*")
    return logger
