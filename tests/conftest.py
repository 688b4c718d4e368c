"""Shared fixtures: the real data in ../shared/data, runs of the real CLI scripts, the tiny classifier."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# make test runs one pytest-xdist worker per core: each worker, and every run it starts, takes one thread (torch's
# default, a thread per core in every process, made two processes on two cores slow each other far beyond 2x).
# Set before torch is imported below; a test that studies thread shares unsets it for its own run.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from tests.helpers import (
    RUN_SECRET,
    SHARED_DATA,
    TINY_CLASSIFIER_KEYS,
    TINY_RUNS,
    call_script,
    run_script,
    with_args,
)

# Tests never download: point every datamodule at the shared copy unless the caller chose another.
os.environ.setdefault("GENLAB_DATA_DIR", str(SHARED_DATA))
os.environ["WANDB_MODE"] = "offline"  # a developer's own credentials must not make tests go online
os.environ.setdefault("WANDB_SILENT", "true")


# The modules that took longest in the last whole-suite run (benchmarks/README.md, "Test suite"), longest first.
# `make test` hands modules to the xdist workers in collection order (--dist loadscope --no-loadscope-reorder), so
# the long ones start first and no worker is left alone with one at the end. Only the order depends on this list:
# a module it does not name runs after those it names, in the usual order.
LONGEST_FIRST = ("test_first_contact", "test_resume", "test_sync", "test_preemption", "test_benchmarks", "test_ddp",
                 "test_bad_input", "test_many_runs", "test_readme_walkthrough", "test_ddp_models", "test_images_e2e",
                 "test_tracking")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: a module's own order is kept


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["GENLAB_DATA_DIR"])
    if not (path / "MNIST" / "raw").is_dir():
        pytest.fail(f"MNIST not found under {path}; set GENLAB_DATA_DIR to the shared data folder")
    return path


@pytest.fixture
def cli():
    return run_script


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory, data_dir) -> Path:
    """A small, quickly trained MNIST classifier for the GAN tests' FID/KID/class statistics (the default one
    takes minutes on CPU); made once per session by the real ``scripts/train_classifier.py``'s ``main``, run in
    this process (another interpreter would only add seconds of imports)."""
    from genlab.runner.run.classifier import cached_path, parse_config

    cache = tmp_path_factory.getbasetemp() / "classifier-cache"
    path = cached_path(parse_config(TINY_CLASSIFIER_KEYS), cache)
    if not path.is_file():
        done = call_script("train_classifier.py", *TINY_CLASSIFIER_KEYS, f"cache_dir={cache}")
        code, out, err = done.returncode, done.stdout, done.stderr
        assert code == 0, err[-3000:]
        assert f"classifier: {path}" in out
    return path


@pytest.fixture(scope="session")
def finished_runs(tmp_path_factory, data_dir) -> Path:
    """A folder of two finished tiny autoencoder runs (latent_dim 2 and 3; config.yaml, checkpoints, CSV metrics),
    trained once per session in this process through the real path (compose -> train), for tests that only read
    finished run folders."""
    from genlab.runner.config import compose
    from genlab.runner.run.train import train

    root = tmp_path_factory.mktemp("finished") / "runs"
    for dim in (2, 3):
        train(compose([*TINY_RUNS["ae"], "trainer.max_epochs=1", f"model.latent_dim={dim}",
                       f"run_dir={root / f'ae-{dim}'}"]))
    return root


@pytest.fixture(scope="session")
def secret_run(tmp_path_factory, data_dir) -> Path:
    """A finished tiny autoencoder run whose config refers to ``${oc.env:GENLAB_TEST_SECRET}`` (``logger.notes``),
    trained once per session in this process through the real path (compose -> train). Tests only read it, or
    copy it first (tests/test_run_folder.py checks that refused starts leave it byte for byte the same)."""
    from genlab.runner.config import compose
    from genlab.runner.run.train import train

    run_dir = tmp_path_factory.mktemp("secret") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLAB_TEST_SECRET", RUN_SECRET)
        train(compose([*with_args(TINY_RUNS["ae"], "trainer.limit_test_batches=1"), "trainer.max_epochs=1",
                       "logger.notes=${oc.env:GENLAB_TEST_SECRET}", f"run_dir={run_dir}"]))
    return run_dir
