"""Run folders: where a run's config, checkpoints, pictures and W&B files go, and the code version."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_DIR_ENV = "GENLAB_RUN_DIR"
WANDB_ID_ENV = "GENLAB_WANDB_ID"


def _shared_id() -> str | None:
    """An id that every process of one multi-process launch sees the same (torchrun, SLURM)."""
    for var in ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID"):
        value = os.environ.get(var)
        if value and value != "none":
            return f"{var.split('_')[0].lower()}-{value}"
    return None


def choose_run_dir(experiment: str, run_dir: str | None) -> Path:
    """The explicit ``run_dir``, else ``runs/<experiment>/<timestamp>-<id>``.

    Every DDP process must agree: Lightning's own launcher starts the other ranks with our environment, so
    ``genlab.train`` publishes the choice in ``GENLAB_RUN_DIR`` while it runs; torchrun and SLURM start ranks
    independently, so there the folder is named after the job id they share.
    """
    if run_dir:
        path = Path(run_dir)
    elif os.environ.get(RUN_DIR_ENV):
        path = Path(os.environ[RUN_DIR_ENV])
    elif _shared_id():
        path = Path("runs") / experiment / _shared_id()
    else:
        path = Path("runs") / experiment / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    return path


def run_id_for(run_dir: Path) -> str:
    """A W&B run id kept in the run folder, so resuming the run logs to the same W&B run."""
    id_file = run_dir / "wandb_id.txt"
    if id_file.exists():
        return id_file.read_text().strip()
    return os.environ.get(WANDB_ID_ENV) or secrets.token_hex(4)


def git_info() -> dict[str, object]:
    """The code's commit and whether the working tree had uncommitted changes (None outside git)."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}
