"""Run folders: where a run's config, checkpoints, pictures and W&B files go, and the code version."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from pathlib import Path

from genlab.core.errors import RunDirError

REPO_ROOT = Path(__file__).resolve().parents[3]
RUN_DIR_ENV = "GENLAB_RUN_DIR"
WANDB_ID_ENV = "GENLAB_WANDB_ID"
CSV_DIR = "csv"  # <run>/csv/version_<n>/metrics.csv: one version per process that logged (train, resume, evaluate)


def shared_id() -> str | None:
    """An id that every process of one multi-process launch sees the same (torchrun, SLURM)."""
    for var in ("TORCHELASTIC_RUN_ID", "SLURM_JOB_ID"):
        value = os.environ.get(var)
        if value and value != "none":
            return f"{var.split('_')[0].lower()}-{value}"
    return None


def choose_run_dir(experiment: str, run_dir: str | None) -> Path:
    """The explicit ``run_dir``, else ``runs/<experiment>/<timestamp>-<id>``.

    Every DDP process must agree: Lightning's own launcher starts the other ranks with our environment, so
    ``genlab.runner.run.train`` publishes the choice in ``GENLAB_RUN_DIR`` while it runs; torchrun and SLURM start ranks
    independently, so there the folder is named after the job id they share.
    """
    if run_dir:
        path = Path(run_dir)
    elif os.environ.get(RUN_DIR_ENV):
        path = Path(os.environ[RUN_DIR_ENV])
    elif shared_id():
        path = Path("runs") / experiment / shared_id()
    else:
        path = Path("runs") / experiment / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    return path


# what makes a folder a run's record: a fresh run never starts where one of these exists
RUN_RECORD = ("config.yaml", "wandb_id.txt", "checkpoints")
LOCK_NAME = ".lock"


def holds_run(path: Path) -> bool:
    return any((path / name).exists() for name in RUN_RECORD)


def refuse_taken(path: Path) -> None:
    """A new run may start in a missing or empty-of-runs folder only; one line pointing at resume otherwise."""
    if path.exists() and not path.is_dir():
        raise RunDirError(f"run_dir {path} is a file, not a folder; choose another run_dir")
    if holds_run(path):
        raise RunDirError(f"run folder {path} already holds a run; resume it with ckpt=auto run_dir={path}, or "
                          "choose another run_dir")


def _lock_owner_alive(text: str) -> bool:
    """False only when the lock names a process of this host that no longer exists (a crashed run)."""
    host, _, pid = text.strip().rpartition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _in_use(path: Path, owner: str) -> RunDirError:
    return RunDirError(f"run folder {path} is in use by another run (process {owner.strip() or '?'}); wait for it, "
                       f"or delete {path / LOCK_NAME} if no run is using the folder")


def refuse_in_use(path: Path) -> None:
    """Refuse a folder whose lock a live process holds (what ``claimed`` would find), reading only."""
    try:
        owner = (path / LOCK_NAME).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return
    if _lock_owner_alive(owner):
        raise _in_use(path, owner)


@contextlib.contextmanager
def claimed(path: Path, fresh: bool):
    """Hold ``path/.lock`` for the run's life: a second run started into the same folder, at the same moment or
    later, finds it and stops. ``O_EXCL`` makes the creation atomic (also on NFS v3+); a lock left by a process of
    this host that died (kill -9) is taken over. ``fresh``: also refuse a folder that already holds a run."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunDirError(f"cannot create run folder {path}: {e.strerror}; choose another run_dir") from None
    lock = path / LOCK_NAME
    for attempt in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                owner = lock.read_text()
            except FileNotFoundError:
                continue
            if attempt == 0 and not _lock_owner_alive(owner):
                lock.unlink(missing_ok=True)
                continue
            raise _in_use(path, owner) from None
        except OSError as e:
            raise RunDirError(f"cannot write to run folder {path}: {e.strerror}; choose another run_dir") from None
    else:
        raise RunDirError(f"run folder {path} is in use by another run; delete {lock} if no run is using it")
    with os.fdopen(fd, "w") as f:
        f.write(f"{socket.gethostname()} {os.getpid()}")
    try:
        if fresh:
            refuse_taken(path)
        yield path
    finally:
        lock.unlink(missing_ok=True)


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


@contextlib.contextmanager
def published(env: dict[str, str]):
    """Set environment variables for what runs inside (DDP ranks started by Lightning and wandb's service inherit
    them), then restore the ones found."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
