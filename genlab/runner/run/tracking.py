"""Weights & Biases: online when wandb finds credentials, offline without them or without a route to the server
(never a prompt, never a hang), or disabled. Every offline run says why, once, with the command that uploads it."""

from __future__ import annotations

import contextlib
import csv
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import wandb
import yaml
from omegaconf import DictConfig
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only

from genlab.core.errors import GenlabError
from genlab.runner.config.load import to_saved
from genlab.runner.run.rundir import CSV_DIR
from genlab.runner.run.sync import STEP_KEY, finish_written, record_live

# Seconds wandb.init may spend reaching the server before `auto` gives up and logs offline (wandb's own
# default is 90 s, and its retries about double it); WANDB_INIT_TIMEOUT, wandb's variable, overrides it.
INIT_TIMEOUT_S = 20


class TrackingError(GenlabError):
    """W&B was asked to be online and cannot be."""


def has_wandb_credentials() -> bool:
    """Whether wandb itself finds credentials for the host it will use: WANDB_API_KEY, an identity token file,
    the netrc entry ``wandb login`` wrote, or an api_key setting. No prompt and no network."""
    # wandb 0.31's login(prompt=False, verify=False) without a key: no prompt, no request, no netrc write; when
    # it finds credentials it saves the global settings file only to drop the deprecated "anonymous" entry, and
    # it keeps the credentials for this process's wandb.init (which looks them up the same way)
    try:
        return bool(wandb.login(prompt=False, verify=False))
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


def without_keys(config: dict, dotted: set[str], prefix: str = "") -> dict:
    """``config`` without the nested entries that ``dotted`` names (``model.latent_dim``)."""
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if name in dotted:
            continue
        out[key] = without_keys(value, dotted, f"{name}.") if isinstance(value, dict) else value
    return out


def sweep_parameters() -> set[str]:
    """The parameters a W&B sweep agent gave this run, under the sweep file's names: the agent writes them to the
    file ``WANDB_SWEEP_PARAM_PATH`` names, and wandb.init adds each to the run config under that name."""
    path = os.environ.get("WANDB_SWEEP_PARAM_PATH")
    if not path or not Path(path).is_file():
        return set()
    return {k for k in yaml.safe_load(Path(path).read_text()) or {} if k != "wandb_version"}


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
    pictures of that epoch, so a forced step would drop them); the plots' x-axis is ``trainer/global_step``.
    ``at_step`` logs everything at that batch step (an evaluation: the run's last step, not its own trainer's 0)."""

    def __init__(self, *args, logged_up_to: int = -1, at_step: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._logged_up_to, self._at_step = logged_up_to, at_step

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if self._at_step is not None:
            super().log_metrics(metrics, self._at_step)
        elif step is None or step > self._logged_up_to:
            super().log_metrics(metrics, step)


class RunCSVLogger(CSVLogger):
    """Lightning's CSVLogger; ``at_step`` as in RunWandbLogger."""

    def __init__(self, *args, at_step: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._at_step = at_step

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        super().log_metrics(metrics, step if self._at_step is None else self._at_step)


def make_loggers(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, job_type: str = "train",
                 mode: str | None = None) -> list[Logger]:
    """W&B (unless disabled) and a local CSV copy of every logged scalar, so the run folder alone holds every
    number (``genlab.runner.tools.compare`` reads it without W&B). ``mode`` overrides ``cfg.logger.mode`` (evaluate
    follows the mode its run was trained in)."""
    at_step = last_logged_step(run_dir) if job_type == "evaluate" else None
    wandb_logger = make_logger(cfg, run_dir, run_id, config, job_type, mode, at_step)
    # a new version_<n>: a resume never overwrites; written at every log call, so a killed run's copy is complete
    # up to its last logged step (what a resume skips in W&B, see RunWandbLogger)
    csv_logger = RunCSVLogger(save_dir=str(run_dir), name=CSV_DIR, flush_logs_every_n_steps=1, at_step=at_step)
    return [wandb_logger, csv_logger] if wandb_logger is not None else [csv_logger]


@contextlib.contextmanager
def tracked(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, job_type: str = "train",
            mode: str | None = None) -> Iterator[list[Logger]]:
    """The loggers of one process of a run (``make_loggers``), its W&B run finished (``finish_run``) however the
    block ends: the one W&B session of training and of evaluation."""
    loggers = make_loggers(cfg, run_dir, run_id, config, job_type, mode)
    try:
        yield loggers
    finally:
        finish_run(run_dir)


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


def _wandb_logger(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, mode: str, job_type: str,
                  at_step: int | None) -> WandbLogger:
    """The W&B run is started here with ``wandb.init`` (rank zero only) and handed to Lightning: Lightning's own
    start passes ``anonymous=None``, which wandb 0.31 answers with a deprecation line. Checkpoints reach W&B
    through ``scripts/sync.py`` (genlab.runner.run.sync), as ``logger.log_model`` asks."""
    run = None
    if rank_zero_only.rank == 0:
        shown = to_saved(cfg)["logger"]  # ${oc.env:...} values (secrets) reach W&B's fields as the reference too
        run = wandb.init(
            project=cfg.logger.project, entity=cfg.logger.entity, group=shown["group"] or cfg.experiment,
            # an evaluation continues its run: no job type, so the run keeps "train"
            job_type=job_type if job_type != "evaluate" else None,
            name=shown["name"] or f"{cfg.experiment}/{run_dir.name}", tags=list(shown["tags"]),
            notes=shown["notes"], dir=str(run_dir), id=run_id, resume="allow", mode=mode,
            # each sweep parameter once, under the sweep file's name (wandb.init adds it from the agent's file)
            config=without_keys(config, sweep_parameters()))
        run.define_metric(STEP_KEY)  # what Lightning does for a run it starts itself
        run.define_metric("*", step_metric=STEP_KEY, step_sync=True)
    logged_up_to = last_logged_step(run_dir) if job_type == "train" else -1
    return RunWandbLogger(experiment=run, project=cfg.logger.project, save_dir=str(run_dir), id=run_id,
                          logged_up_to=logged_up_to, at_step=at_step)


def finish_run(run_dir: Path) -> None:
    """End this process's W&B run (rank zero holds it). An online run then holds the folder's values: recorded,
    so that ``scripts/sync.py`` later sends only what comes after (a resume logged offline) and the checkpoints."""
    run = wandb.run
    if run is None:
        return
    rows = None if run.offline else run.step
    finish_written(run)
    if rows is not None:
        record_live(run_dir, rows)


def _server() -> str:
    return wandb.setup().settings.base_url


def make_logger(cfg: DictConfig, run_dir: Path, run_id: str, config: dict, job_type: str = "train",
                mode: str | None = None, at_step: int | None = None) -> WandbLogger | None:
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
        try:
            return _wandb_logger(cfg, run_dir, run_id, config, mode, job_type, at_step)
        except wandb.errors.CommError as e:
            reason = str(e).splitlines()[0]
            if cfg.logger.mode == "online":
                raise TrackingError(f"W&B server {_server()} unreachable ({reason}); use logger.mode=auto to "
                                    "log offline and sync later") from None
            mode, why = "offline", f"W&B server {_server()} unreachable"
            # the service still holds the failed run's id: a fresh one takes the offline run under the same id
            wandb.teardown()
    logger = _wandb_logger(cfg, run_dir, run_id, config, mode, job_type, at_step)
    _say(f"W&B: logging offline ({why}) under {run_dir / 'wandb'}; upload it later with: scripts/sync.py {run_dir} "
         "(one W&B run, resumes and evaluations included; `wandb sync` of its offline-run-* folders keeps one)")
    return logger
