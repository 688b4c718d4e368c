"""Helpers shared by the test modules: tiny-run arguments, runs of the real scripts (waiting on and signalling
them), a quiet test Trainer, a fresh machine's environment, comparing checkpoints, and file checksums.
Fixtures are in conftest.py, which imports from here (never the other way)."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import importlib.util
import io
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from genlab.runner.cli import run_cli, with_args  # noqa: F401  (with_args: the tests build their argument lists)
from genlab.runner.config import compose

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GENLAB_DATA_DIR") or REPO.parent / "shared" / "data")

# Keeps CLI runs short: a few batches, no sanity check, no progress bars in the test log.
FAST = ["trainer.max_epochs=1", "trainer.limit_train_batches=8", "trainer.limit_val_batches=2",
        "trainer.limit_test_batches=2", "trainer.num_sanity_val_steps=0", "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu", "trainer.devices=1", "trainer.log_every_n_steps=1"]


def run_script(script: str, *args: str, cwd: Path | None = None, timeout: int = 600,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``scripts/<script>`` in a real subprocess with this interpreter; ``env`` values of None unset."""
    return subprocess.run([sys.executable, str(REPO / "scripts" / script), *args], cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, env=child_env(env))


def child_env(env: dict | None = None) -> dict[str, str]:
    """This process's environment for a child process: the repository importable, ``env`` over it, and the
    variables ``env`` sets to None unset."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return {k: v for k, v in full_env.items() if v is not None}


def call_script(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``scripts/<script>``'s main in this process, as its ``__main__`` does (``run_cli``), with what a
    subprocess run gives back (exit code, stdout, stderr). For the tests whose claim is not about a fresh
    interpreter: each subprocess pays seconds of imports."""
    spec = importlib.util.spec_from_file_location(f"script_{script[:-3]}", REPO / "scripts" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(module.main, module.__doc__, list(args))
    return subprocess.CompletedProcess([script, *args], code, out.getvalue(), err.getvalue())


def call_benchmark(script: str, *args: str) -> str:
    """Run ``benchmarks/<script> args`` in this process as its ``__main__`` (``python benchmarks/<script>`` without
    a new interpreter) and return what it printed; a non-zero exit fails the test. The thread count a benchmark
    sets is restored."""
    threads, argv, out = torch.get_num_threads(), sys.argv, io.StringIO()
    sys.argv = [str(REPO / "benchmarks" / script), *args]
    if str(REPO / "benchmarks") not in sys.path:  # as python puts a script's folder first: siblings import by name
        sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as e:
        assert e.code in (None, 0), f"{script} exited with {e.code}: {out.getvalue()[-2000:]}"
    finally:
        sys.argv = argv
        torch.set_num_threads(threads)
    return out.getvalue()


def quiet_trainer(**kwargs) -> pl.Trainer:
    """A real CPU Trainer without logger, checkpoints, progress bar or summary (tests add what they check)."""
    return pl.Trainer(**{"accelerator": "cpu", "devices": 1, "logger": False, "enable_checkpointing": False,
                         "enable_progress_bar": False, "enable_model_summary": False, **kwargs})

# A small, quickly trained MNIST classifier for the GAN's FID/KID/class statistics (the default one takes
# minutes on CPU): the keys of genlab.runner.run.classifier.ClassifierConfig that differ from its defaults.
TINY_CLASSIFIER = {"channels": [8, 16], "num_features": 32, "dropout": 0.0, "train_size": 6000, "epochs": 1,
                   "batch_size": 64, "lr": 0.003}
# the same as arguments of scripts/train_classifier.py (key=value) and as overrides of the run config
TINY_CLASSIFIER_KEYS = [f"{k}={str(v).replace(' ', '')}" for k, v in TINY_CLASSIFIER.items()]
TINY_CLASSIFIER_ARGS = [f"eval.classifier.{arg}" for arg in TINY_CLASSIFIER_KEYS]

# The tiny CycleGAN the tests train: 32 px crops, ngf = ndf = 8, one residual block, real monet2photo images.
# Only the parameter-count test builds the official size.
TINY_CYCLEGAN = ["experiment=cyclegan_monet_small", "data.load_size=36", "data.crop_size=32", "data.num_workers=0",
                 "data.test_batch_size=16", "model.ngf=8", "model.ndf=8", "model.n_blocks=1",
                 # the tests never load Inception: "pixels" features (no weights) stand in for it
                 "eval.features=pixels"]


def tiny_cyclegan_cfg(*overrides: str):
    return compose(with_args(TINY_CYCLEGAN, *overrides))


def fresh_machine(tmp_path: Path) -> dict[str, str | None]:
    """Environment of a machine where nothing was prepared: an empty genlab cache, a HOME without W&B
    credentials, no W&B variables (values of None are unset by ``run_script``)."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    return {"HOME": str(home), "GENLAB_CACHE_DIR": str(cache), "XDG_CONFIG_HOME": None, "XDG_CACHE_HOME": None,
            "NETRC": None, "WANDB_MODE": None, "WANDB_API_KEY": None, "WANDB_BASE_URL": None,
            "WANDB_CONFIG_DIR": None, "WANDB_IDENTITY_TOKEN_FILE": None, "WANDB_DIR": None}


def tree_checksums(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` by relative path (folders included as empty entries), so a test
    can assert that a command changed, added or removed nothing there."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out


# a real Lightning run on CPU that spends its time training, not on pictures, validation metrics or W&B
QUIET = ["trainer.limit_val_batches=1", "trainer.limit_test_batches=0", "trainer.num_sanity_val_steps=0",
         "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "trainer.accelerator=cpu",
         "trainer.devices=1", "trainer.log_every_n_steps=1", "callbacks.images=[]", "logger.mode=disabled"]

# one tiny configuration per model; each trains a few batches per epoch
TINY_RUNS = {
    "ae": ["experiment=ae_mnist", "data.batch_size=16", "trainer.limit_train_batches=6", *QUIET],
    "vae": ["experiment=vae_mnist", "model.hidden=[64]", "data.batch_size=16", "trainer.limit_train_batches=6",
            *QUIET],
    "gan": ["experiment=mlp_gan_mnist", "model.g_hidden=[64,128]", "model.d_hidden=[64]", "data.batch_size=16",
            "trainer.limit_train_batches=6",
            "callbacks.monitor=null", *with_args(QUIET, "trainer.limit_val_batches=0")],  # no FID classifier to train
    "cyclegan": ["experiment=cyclegan_monet_small", "data.load_size=36", "data.crop_size=32", "data.num_workers=0",
                 "model.ngf=8", "model.ndf=8", "model.n_blocks=1", "model.n_epochs=1", "model.n_epochs_decay=1",
                 "model.pool_size=3", "trainer.limit_train_batches=5", *QUIET],
}
# long enough epochs that a signal sent after the first periodic checkpoint (batch 5) lands mid-epoch
# 300 batches, long enough for a signal to land mid-epoch; a narrower MLP (one hidden layer of 128) halves the run
LONG_AE = ["experiment=ae_mnist", "model.hidden=[128]", "data.batch_size=64", "trainer.limit_train_batches=150",
           "trainer.max_epochs=2", "checkpoint.every_n_steps=5", *TINY_RUNS["ae"][3:]]


# logger.notes of the conftest's secret_run refers to this variable: the value must never reach the run folder
RUN_SECRET = "s3cr3t-value-never-on-disk"


def train(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return run_script("train.py", *args, **kwargs)


def start_train(*args: str) -> subprocess.Popen:
    """``scripts/train.py`` as a background process (for signals); stderr goes to a pipe."""
    return subprocess.Popen([sys.executable, str(REPO / "scripts" / "train.py"), *args], cwd=REPO,
                            env=child_env({"OMP_NUM_THREADS": "1"}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until ``path`` exists; fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended (rc {proc.returncode}) before {path} appeared: "
                                 f"{proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]


def counters(ckpt: Path) -> tuple[int, int, int]:
    """(epoch, optimizer steps, batches trained: the W&B step axis) of a checkpoint."""
    c = torch.load(ckpt, map_location="cpu", weights_only=True)
    return c["epoch"], c["global_step"], c["loops"]["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"]


def assert_identical_weights(a: Path, b: Path) -> None:
    """Same weights bit for bit, and the same counters (Lightning's restart must not leave one a batch ahead)."""
    assert counters(a) == counters(b)
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    differ = [k for k in wa if not torch.equal(wa[k], wb[k])]
    assert not differ, f"{len(differ)} tensors differ, e.g. {differ[0]}: max abs " \
                       f"{(wa[differ[0]].float() - wb[differ[0]].float()).abs().max().item()}"


def last_logged(run_dir: Path) -> dict[str, float]:
    """The last value of every key in a run folder's CSV copy, over all its versions (resumes) in order."""
    values = {}
    for path in sorted((run_dir / "csv").glob("version_*/metrics.csv")):
        with path.open() as f:
            for row in csv.DictReader(f):
                values.update({k: float(v) for k, v in row.items() if v not in ("", None)})
    return values


def error_line(stderr: str) -> str:
    """The run's single ``error:`` line; fails on a traceback or on several error lines."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]
