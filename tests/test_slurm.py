"""scripts/slurm/train.sbatch: valid bash, requeued on preemption, and the command line it hands srun is a run
config genlab accepts; ``--multirun --launcher slurm``: the job array submitit hands sbatch."""

from __future__ import annotations

import os
import subprocess

from submitit.helpers import DelayedSubmission

from genlab.runner.config import compose
from genlab.runner.sweep import multirun
from tests.helpers import REPO

SBATCH = REPO / "scripts" / "slurm" / "train.sbatch"


def test_sbatch_file_is_valid_bash_and_asks_for_requeue_and_the_warning_signal():
    assert subprocess.run(["bash", "-n", str(SBATCH)], capture_output=True).returncode == 0
    directives = [line.split(None, 1)[1] for line in SBATCH.read_text().splitlines() if line.startswith("#SBATCH")]
    assert "--signal=SIGUSR1@90" in directives and "--requeue" in directives


def test_sbatch_runs_one_train_process_per_task_with_a_config_that_composes(tmp_path):
    # SLURM is not installed here: a stand-in srun on PATH records the command line the job would start
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text('#!/bin/bash\nprintf "%s\\n" "$@" > "$SRUN_ARGS"\n')
    (fake_bin / "srun").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "SRUN_ARGS": str(tmp_path / "args"),
           "SLURM_SUBMIT_DIR": str(REPO), "SLURM_JOB_ID": "1234", "SLURM_JOB_NAME": "genlab",
           "SLURM_NTASKS_PER_NODE": "4", "SLURM_JOB_NUM_NODES": "2"}
    done = subprocess.run(["bash", str(SBATCH), "experiment=gan_mnist", "model.ngf=8"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    argv = (tmp_path / "args").read_text().splitlines()
    assert argv[:3] == ["--kill-on-bad-exit=1", ".venv/bin/python", "scripts/train.py"]
    args = argv[3:]
    for expected in ("experiment=gan_mnist", "model.ngf=8", "run_dir=runs/slurm/genlab-1234", "ckpt=auto",
                     "trainer.strategy=ddp", "trainer.devices=4", "trainer.num_nodes=2", "trainer.accelerator=gpu"):
        assert expected in args
    # this machine has no GPU, which the accelerator check would rightly refuse; everything else must compose.
    cpu_args = [a.replace("trainer.accelerator=gpu", "trainer.accelerator=cpu") for a in args]
    cfg = compose(cpu_args)
    assert (cfg.trainer.devices, cfg.trainer.num_nodes, cfg.trainer.strategy) == (4, 2, "ddp")
    assert cfg.run_dir == "runs/slurm/genlab-1234" and cfg.model.ngf == 8 and cfg.ckpt == "auto"


def test_sbatch_without_arguments_prints_its_usage():
    done = subprocess.run(["bash", str(SBATCH)], capture_output=True, text=True, env={**os.environ,
                                                                                      "SLURM_SUBMIT_DIR": str(REPO)})
    assert done.returncode == 2 and "usage: sbatch" in done.stderr


def test_the_slurm_launcher_submits_one_array_of_requeueable_jobs_that_ask_for_the_warning_signal(tmp_path,
                                                                                                   monkeypatch):
    # SLURM is not installed here: stand-in srun (submitit looks for it) and sbatch (records the job file)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text("#!/bin/bash\nexit 0\n")
    (fake_bin / "sbatch").write_text('#!/bin/bash\ncp "$1" "$SBATCH_FILE"\necho "Submitted batch job 4321"\n')
    for tool in ("srun", "sbatch"):
        (fake_bin / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")
    monkeypatch.setenv("SBATCH_FILE", str(tmp_path / "job.sh"))
    sweep = multirun.plan(["experiment=ae_mnist", "seed=1,2", "trainer.accelerator=cpu"], tmp_path / "sweep")
    handles = multirun.submit(sweep, multirun.load_launcher("slurm", ["launcher.partition=gpu"]))
    script = (tmp_path / "job.sh").read_text().splitlines()
    # submitit caps the array's parallelism (16) at its size
    for flag in ("--signal=USR2@120", "--array=0-1%2", "--partition=gpu", "--cpus-per-task=8", "--time=240"):
        assert f"#SBATCH {flag}" in script, script
    assert any("-m submitit.core._submit" in line for line in script)
    # each task of the array runs its run's TrainJob, which submitit checkpoints and requeues
    assert [h.job_id for h in handles] == ["4321_0", "4321_1"]
    for job, handle in zip(sweep.jobs, handles, strict=True):
        delayed = DelayedSubmission.load(handle.paths.submitted_pickle)
        assert isinstance(delayed.function, multirun.TrainJob) and delayed.function.args == job.args
        assert delayed.function.cores is None  # a SLURM task uses the cores SLURM gave it
