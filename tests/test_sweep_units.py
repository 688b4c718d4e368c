"""The small parts of sweeps that need no training: `-m`, folder names, the job's requeue submission, the lines a
sweep prints, thread shares, early stopping by the run's monitor, and the hint for a comma without --multirun."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pytorch_lightning.callbacks import EarlyStopping
from submitit.helpers import Checkpointable, DelayedSubmission

from genlab.callbacks import make_callbacks
from genlab.core.errors import ConfigError
from genlab.runner.config import compose
from genlab.runner.run import threads
from genlab.runner.sweep import multirun
from genlab.runner.sweep.multirun import FINISHED, Job, Outcome, Sweep, TrainJob


def test_dash_m_is_multirun():
    flags, rest = multirun.split_flags(["-m", "experiment=ae_mnist", "seed=1,2"])
    assert flags == {"--multirun": True} and rest == ["experiment=ae_mnist", "seed=1,2"]


def test_a_sweep_with_nothing_swept_names_its_run_by_its_index():
    assert multirun.folder_name(0, {}) == "0"
    sweep = multirun.plan(["experiment=ae_mnist", "seed=3"], sweep_dir=Path("runs/x/s"))
    assert [job.run_dir for job in sweep.jobs] == [Path("runs/x/s/0")] and sweep.group == "ae_mnist-s"


def test_the_requeued_job_is_the_same_run_resuming_its_folder():
    job = TrainJob(["experiment=ae_mnist", "ckpt=auto", "seed=1", "run_dir=runs/x/0"], cores=3)
    assert isinstance(job, Checkpointable)
    again = job.checkpoint()
    assert isinstance(again, DelayedSubmission) and isinstance(again.function, TrainJob)
    assert again.function.args == ["experiment=ae_mnist", "seed=1", "run_dir=runs/x/0", "ckpt=auto"]
    assert again.function.cores == 3 and again.args == () and again.kwargs == {}


def test_a_finished_run_is_not_trained_again(tmp_path):
    run_dir = tmp_path / "0"
    run_dir.mkdir()
    (run_dir / FINISHED).write_text("2026-01-01 00:00:00\n")
    assert TrainJob(["experiment=ae_mnist", f"run_dir={run_dir}"])() == str(run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == [FINISHED]


def _run_folder(path: Path, losses: list[float], monitor: str = "val/loss", mode: str = "min") -> Path:
    (path / "csv" / "version_0").mkdir(parents=True)
    (path / "config.yaml").write_text(f"callbacks:\n  monitor: {monitor}\n  monitor_mode: {mode}\n")
    rows = "".join(f"{i},{loss}\n" for i, loss in enumerate(losses))
    (path / "csv" / "version_0" / "metrics.csv").write_text(f"step,{monitor}\n{rows}")
    return path


def test_the_lines_of_a_sweep(tmp_path):
    job = Job(1, {"seed": "2", "model.latent_dim": "16"}, [], _run_folder(tmp_path / "1", [0.5, 0.25, 0.375]))
    assert multirun.start_line(job, 4) == f"[2/4] start seed=2 model.latent_dim=16 -> {job.run_dir}"
    done = Outcome(job, True, job.run_dir / "train.log", "exit 0", 12.34)
    assert multirun.best_score(job.run_dir) == "val/loss best 0.25"
    assert multirun.end_line(done, 4, "val/loss best 0.25") == \
        f"[2/4] done (exit 0, 12.3 s, val/loss best 0.25) {job.run_dir}"
    failed = Outcome(job, False, job.run_dir / "train.log", "exit 1", 3.0)
    assert multirun.end_line(failed, 4, "") == f"[2/4] FAILED (exit 1, 3.0 s) {job.run_dir} (log: {failed.log})"
    nothing = Job(0, {}, [], tmp_path / "missing")
    assert multirun.start_line(nothing, 1).startswith("[1/1] start (nothing swept) -> ")
    assert multirun.best_score(nothing.run_dir) == ""
    assert multirun.best_score(_run_folder(tmp_path / "acc", [0.5, 0.75, 0.25], "val/acc", "max")) == \
        "val/acc best 0.75"


def test_a_failed_submitit_job_is_told_by_its_exception_line():
    # the shape of submitit 1.5's FailedJobError message (core.py, Job._get_exception)
    message = ("Job (task=0) failed during processing with trace:\n----------------------\nTraceback (most recent "
               "call last):\n  File \"x.py\", line 1, in f\ngenlab.core.errors.DataError: MNIST not found\n"
               "----------------------\nYou can check full logs with 'job.stderr(0)'\n  - /a/b.err\n")
    assert multirun.failure_reason(message) == "genlab.core.errors.DataError: MNIST not found"
    assert multirun.failure_reason("Job not requeued because: timed-out too many times.") == \
        "Job not requeued because: timed-out too many times."


def test_the_closing_lines_name_the_wandb_group_and_how_to_upload(tmp_path):
    job = Job(0, {"seed": "1"}, [], tmp_path / "0-seed=1")
    sweep = Sweep(tmp_path, "ae_mnist-s", [job])
    outcome = Outcome(job, True, job.run_dir / "train.log", "exit 0", 1.0)
    (job.run_dir / "wandb").mkdir(parents=True)
    assert multirun.summary(sweep, [outcome]) == ["1 of 1 runs finished", "W&B group: ae_mnist-s"]
    (job.run_dir / "wandb" / "offline-run-20260101_000000-abcd").mkdir()
    assert multirun.summary(sweep, [outcome])[-1] == \
        f"W&B group: ae_mnist-s; upload the offline runs with: wandb sync {tmp_path}/*/wandb/offline-run-*"


def test_thread_shares():
    assert threads.share(2, 2) == 1 and threads.share(16, 3) == 5 and threads.share(1, 4) == 1
    assert threads.share(8, 1) == 8


def test_processes_of_one_run_on_this_machine(monkeypatch):
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert threads.local_processes(2) == 2 and threads.local_processes([0, 1, 2]) == 3
    assert threads.local_processes("auto") == 1 and threads.local_processes(-1) == 1
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun's
    assert threads.local_processes(1) == 4


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_run_takes_its_share_unless_the_user_chose(monkeypatch, torch_threads):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setenv(threads.CORES_ENV, "4")
    line, env = threads.fit_threads(2)
    assert torch.get_num_threads() == 2 and env == {"OMP_NUM_THREADS": "2"}
    assert line.startswith("threads: 2 (4 cores / 2 processes")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    torch.set_num_threads(3)  # what torch reads from OMP_NUM_THREADS at its start
    line, env = threads.fit_threads(2)
    assert torch.get_num_threads() == 3 and env == {} and line == "threads: 3 (OMP_NUM_THREADS=3)"


def test_early_stopping_watches_the_runs_monitor_unless_told_otherwise():
    (stop,) = make_callbacks([], ["early_stopping"], {}, {}, "val/neg_elbo", "max")
    assert isinstance(stop, EarlyStopping) and (stop.monitor, stop.mode) == ("val/neg_elbo", "max")
    (stop,) = make_callbacks([], ["early_stopping"], {"early_stopping": {"patience": 2}}, {}, "val/loss", "min")
    assert (stop.monitor, stop.mode, stop.patience) == ("val/loss", "min", 2)
    (stop,) = make_callbacks([], ["early_stopping"], {"early_stopping": {"monitor": "val/acc", "mode": "max"}}, {},
                             "val/loss", "min")
    assert (stop.monitor, stop.mode) == ("val/acc", "max")
    with pytest.raises(ConfigError, match=r"watches callbacks.monitor, which is null"):
        make_callbacks([], ["early_stopping"], {}, {}, None, "min")


def test_early_stopping_by_name_composes():
    cfg = compose(["experiment=ae_mnist", "callbacks.lightning=[early_stopping]"])
    assert list(cfg.callbacks.lightning) == ["early_stopping"]


@pytest.mark.parametrize("arg", ["seed=1,2", "model.latent_dim=2,16"])
def test_a_comma_without_multirun_gets_a_hint(arg):
    with pytest.raises(ConfigError) as e:
        compose(["experiment=ae_mnist", arg])
    assert str(e.value).endswith(f"({arg}: several values? sweep them with scripts/train.py --multirun)")
    assert "\n" not in str(e.value)


def test_no_sweep_hint_for_a_list_value_or_another_key():
    with pytest.raises(ConfigError) as e:
        compose(["experiment=ae_mnist", "model.hidden=[0,-1]"])
    assert "--multirun" not in str(e.value)
    with pytest.raises(ConfigError) as e:
        compose(["experiment=ae_mnist", "seed=x", "logger.tags=[a,b]"])
    assert "--multirun" not in str(e.value)
