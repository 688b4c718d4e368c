"""A run folder belongs to one run: a second start into it is refused (also two at once), a failed start writes
nothing, and secrets given as ${oc.env:...} are not written out."""

from __future__ import annotations

import pytest
import torch
import yaml

from tests.helpers import RUN_SECRET as SECRET
from tests.helpers import TINY_RUNS, call_script, error_line, start_train, tree_checksums

pytestmark = pytest.mark.slow


@pytest.fixture
def finished(secret_run):
    """The session's finished run (logger.notes refers to $GENLAB_TEST_SECRET): every test leaves it unchanged."""
    return secret_run


@pytest.mark.parametrize("experiment", ["ae_mnist", "vae_mnist"])
def test_a_new_run_into_an_existing_runs_folder_is_refused_and_changes_nothing(finished, experiment):
    before = tree_checksums(finished)
    refused = call_script("train.py", f"experiment={experiment}", *TINY_RUNS["ae"][1:], f"run_dir={finished}")
    assert refused.returncode == 2
    assert "already holds a run" in error_line(refused.stderr) and "ckpt=auto" in refused.stderr
    assert tree_checksums(finished) == before


def test_a_start_that_fails_validation_leaves_the_folder_untouched(finished, monkeypatch):
    before = tree_checksums(finished)
    monkeypatch.setenv("GENLAB_TEST_SECRET", SECRET)  # the run's saved config refers to it
    refused = call_script("train.py", f"ckpt={finished / 'checkpoints' / 'last.ckpt'}", "data.batch_size=7")
    assert refused.returncode == 2 and "data.batch_size=7" in error_line(refused.stderr)
    assert tree_checksums(finished) == before


def test_secrets_from_the_environment_stay_interpolations(finished):
    config = yaml.safe_load((finished / "config.yaml").read_text())
    assert config["logger"]["notes"] == "${oc.env:GENLAB_TEST_SECRET}"
    for path in finished.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    saved = torch.load(finished / "checkpoints" / "last.ckpt", weights_only=True)["genlab"]["config"]
    assert saved["logger"]["notes"] == "${oc.env:GENLAB_TEST_SECRET}"


def test_two_runs_started_at_once_in_one_folder_cannot_both_win(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    procs = [start_train(*TINY_RUNS["ae"], "trainer.max_epochs=1", f"run_dir={run_dir}") for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    assert "in use by another run" in error_line(loser) or "already holds a run" in error_line(loser)
    assert not (run_dir / ".lock").exists()
