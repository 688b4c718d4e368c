"""Seeds and grids: ``scripts/train.py --multirun seed=1,2,3 model.latent_dim=2,16`` trains the product of the
comma-separated values, each run in its own folder under one sweep folder and in one W&B group.

Each run is a ``TrainJob``: in its own ``python -m genlab.runner.sweep.multirun`` process (one after another;
``--jobs N``: N at once), or as a submitit job (``--launcher slurm``: a SLURM job array; ``--launcher local``: the
same path with submitit's local executor), which survives preemption and timeouts by requeueing itself with
``ckpt=auto``.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from submitit.helpers import Checkpointable, DelayedSubmission

from genlab.core.errors import ConfigError, GenlabError, RunInterrupted
from genlab.runner.cli import refuse_repeated, run_cli
from genlab.runner.config import compose
from genlab.runner.config.load import CONFIG_DIR
from genlab.runner.run.environment import check_environment
from genlab.runner.run.threads import CORES_ENV, share, usable_cores
from genlab.runner.tools import compare

# genlab.runner.run (torch, Lightning, wandb) is imported by the functions that start runs: scripts/train.py reads
# its --multirun flags here, and its --help and --cfg answer without those imports (docs/architecture.md).
LAUNCHER_PREFIX = "launcher."


FLAGS_WITH_VALUE = ("--jobs", "--launcher")


def split_flags(args: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """``--multirun`` (``-m``), ``--jobs N``, ``--launcher NAME`` (also ``--flag=value``); every other
    ``--key=value`` is the ``key=value`` a W&B agent means by it."""
    flags, rest, i = {}, [], 0
    while i < len(args):
        arg = args[i]
        name, sep, value = arg.partition("=")
        if arg in ("--multirun", "-m"):
            flags["--multirun"] = True
        elif name in FLAGS_WITH_VALUE:
            if not sep:
                if i + 1 >= len(args):
                    raise ConfigError(f"{name} needs a value")
                i, value = i + 1, args[i + 1]
            flags[name] = value
        elif arg.startswith("--") and sep:
            rest.append(arg[2:])
        elif arg.startswith("--"):
            raise ConfigError(f"unknown option {arg!r}; options: --cfg --multirun (-m) --jobs N --launcher NAME "
                              "(see --help)")
        else:
            rest.append(arg)
        i += 1
    return flags, rest


@dataclass
class LauncherConfig:
    """submitit's parameters (``configs/launcher/<name>.yaml``); ``cluster`` is AutoExecutor's."""

    cluster: str = "slurm"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus_per_node: int = 0
    tasks_per_node: int = 1
    cpus_per_task: int | None = None
    mem_gb: int | None = None
    timeout_min: int = 60
    array_parallelism: int = 16
    # SLURM's warning signal (SIGUSR2) comes this long before the time limit: the current batch, last.ckpt and
    # the W&B files must be written within it
    signal_delay_s: int = 120


def split_values(text: str) -> list[str]:
    """``1,2,3`` -> ``["1", "2", "3"]``; commas inside brackets or quotes belong to one value (a list)."""
    values, depth, quote, current = [], 0, None, ""
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(current)
            current = ""
            continue
        current += char
    return values + [current]


def parse_sweep(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split ``key=value`` arguments into fixed ones and swept ones (``key=a,b``: key -> [a, b]); a key given
    twice is refused here, as the sweep folder's run_dir and logger.group are taken out before jobs compose."""
    refuse_repeated(args)
    fixed, swept = [], {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise ConfigError(f"multirun argument {arg!r} is not of the form key=value or key=a,b,c")
        values = split_values(value)
        if len(values) == 1:
            fixed.append(arg)
            continue
        if any(not v.strip() for v in values):
            raise ConfigError(f"multirun value {arg!r} has an empty item; write key=a,b,c")
        if len(set(values)) != len(values):
            raise ConfigError(f"multirun value {arg!r} repeats a value")
        swept[key] = values
    return fixed, swept


def grid(swept: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination, the last key varying fastest."""
    return [dict(zip(swept, combo, strict=True)) for combo in itertools.product(*swept.values())]


def folder_name(index: int, values: dict[str, str]) -> str:
    """``3-model.latent_dim=16,seed=2``: the run's index and values, safe as one path component; just the index
    when nothing is swept."""
    if not values:
        return str(index)
    label = ",".join(f"{k}={v}" for k, v in values.items())
    return f"{index}-{re.sub(r'[^A-Za-z0-9._=,+-]', '_', label)}"[:120]


def wandb_sweep_run_dir(experiment: str, sweep_id: str) -> Path:
    """A run started by ``wandb agent``: ``runs/<experiment>/sweep-<sweep id>/<time>-<id>``."""
    return Path("runs") / experiment / f"sweep-{sweep_id}" / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


@dataclass
class Job:
    index: int
    values: dict[str, str]  # the swept keys' values of this run
    args: list[str]
    run_dir: Path


@dataclass
class Sweep:
    dir: Path
    group: str  # the W&B group of every run
    jobs: list[Job]


def plan(args: list[str], sweep_dir: Path | None = None) -> Sweep:
    """The sweep folder and one job per combination, each composed now so a bad key or value fails before any
    run starts."""
    fixed, swept = parse_sweep(args)
    fixed_keys = dict(a.split("=", 1) for a in fixed)
    experiment = fixed_keys.get("experiment")
    if not experiment:
        compose(fixed)  # the one-line "pass experiment=NAME" message
    if "run_dir" in swept or "logger.group" in swept:
        raise ConfigError("run_dir and logger.group name the whole sweep; give them one value")
    base = Path(fixed_keys.pop("run_dir", "") or sweep_dir or
                Path("runs") / experiment / f"multirun-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}")
    group = fixed_keys.get("logger.group") or f"{experiment}-{base.name}"
    common = [a for a in fixed if not a.startswith(("run_dir=", "logger.group="))]
    jobs, configs = [], []
    for i, values in enumerate(grid(swept)):
        run_dir = base / folder_name(i, values)
        job_args = [*common, *(f"{k}={v}" for k, v in values.items()), f"run_dir={run_dir}", f"logger.group={group}"]
        configs.append(compose(job_args))
        check_environment(configs[-1])  # before Lightning's import: with HOME unwritable, matplotlib's speaks
        jobs.append(Job(i, values, job_args, run_dir))
    from genlab.runner.run.plan import check_before_run

    for cfg in configs:
        check_before_run(cfg)
    return Sweep(base, group, jobs)


def load_launcher(name: str, overrides: list[str], config_dir: Path = CONFIG_DIR) -> LauncherConfig:
    """``configs/launcher/<name>.yaml`` with ``launcher.key=value`` overrides."""
    options = sorted(p.stem for p in (config_dir / "launcher").glob("*.yaml"))
    if name not in options:
        raise ConfigError(f"unknown launcher {name!r}; available: {', '.join(options)}")
    try:
        node = OmegaConf.merge(OmegaConf.structured(LauncherConfig),
                               yaml.safe_load((config_dir / "launcher" / f"{name}.yaml").read_text()) or {},
                               OmegaConf.from_dotlist([o[len(LAUNCHER_PREFIX):] for o in overrides]))
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as e:
        raise ConfigError(f"launcher: {str(e).splitlines()[0]}") from None



# --- one run -------------------------------------------------------------------------------------------------

FINISHED = "finished.txt"  # written into a run folder when its TrainJob ended normally
PREEMPT_SIGNAL = signal.SIGUSR2  # submitit's preemption and timeout warning (sbatch --signal=USR2@N)


def run_dir_arg(args: list[str]) -> Path:
    return Path(next(a.split("=", 1)[1] for a in reversed(args) if a.startswith("run_dir=")))


class TrainJob(Checkpointable):
    """One run of a sweep, trained in the process that calls it: a submitit job (``--launcher``), or
    ``python -m genlab.runner.sweep.multirun key=value ...`` (one process per run without a launcher).

    Preemption and timeouts (submitit's SIGUSR2, before SLURM stops the job): genlab's ``LatestCheckpoint`` stops
    training after the current batch and saves ``last.ckpt``; then this job hands the signal to the handler
    submitit installed, which calls ``checkpoint()`` and requeues what it returns: the same run with
    ``ckpt=auto``, in the same folder, under the same W&B id (``wandb_id.txt``), exactly where it stopped.
    Saving later than the signal, at the batch boundary, is what keeps the resume exact: submitit calls
    ``checkpoint()`` from its signal handler, in the middle of a batch. A run that already ended
    (``finished.txt``) is not trained again when SLURM starts its job once more.
    """

    def __init__(self, args: list[str], cores: int | None = None):
        self.args = list(args)
        self.cores = cores  # the cores this run may use (None: all this process may run on)

    def __call__(self) -> str:
        run_dir = run_dir_arg(self.args)
        if (run_dir / FINISHED).is_file():
            print(f"genlab: {run_dir} already finished ({FINISHED}); not training it again", flush=True)
            return str(run_dir)
        if self.cores:
            os.environ[CORES_ENV] = str(self.cores)
        submitit_handler = signal.getsignal(PREEMPT_SIGNAL)  # submitit's, when this is a submitit job
        try:
            from genlab.runner.run.train import train

            result = train(compose(self.args))
        except RunInterrupted as stop:
            if stop.exit_code == 128 + PREEMPT_SIGNAL and callable(submitit_handler):
                submitit_handler(PREEMPT_SIGNAL, None)  # checkpoint(), requeue, exit (rank 0); other ranks return
            raise
        (result.run_dir / FINISHED).write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
        return str(result.run_dir)

    def checkpoint(self, *args, **kwargs) -> DelayedSubmission:
        """The requeued job: this run again, resuming its folder's latest checkpoint (``last.ckpt``, saved when
        the signal stopped training; none yet: a fresh start in the same folder)."""
        resume = [a for a in self.args if not a.startswith("ckpt=")] + ["ckpt=auto"]
        return DelayedSubmission(TrainJob(resume, self.cores))


# --- many runs -------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    job: Job
    ok: bool
    log: Path
    exit: str  # "exit 0", "exit 1", or submitit's reason
    seconds: float


def best_score(run_dir: Path) -> str:
    """``val/loss best 0.04123`` from the run folder (its config and CSV copy); empty without a monitor."""
    runs = compare.runs_from_folders([run_dir]) if (run_dir / "config.yaml").is_file() else []
    if not runs:
        return ""
    monitor, mode = compare.monitored(runs)
    best = runs[0].best(monitor, mode) if monitor else None
    return f"{monitor} best {best:.4g}" if best is not None else ""


def start_line(job: Job, total: int) -> str:
    swept = " ".join(f"{k}={v}" for k, v in job.values.items()) or "(nothing swept)"
    return f"[{job.index + 1}/{total}] start {swept} -> {job.run_dir}"


def end_line(outcome: Outcome, total: int, best: str) -> str:
    status = "done" if outcome.ok else "FAILED"
    details = ", ".join(filter(None, [outcome.exit, f"{outcome.seconds:.1f} s", best]))
    log = "" if outcome.ok else f" (log: {outcome.log})"
    return f"[{outcome.job.index + 1}/{total}] {status} ({details}) {outcome.job.run_dir}{log}"


class Progress:
    """One line as each run starts and one as it ends (threads of ``--jobs N`` print whole lines)."""

    def __init__(self, total: int):
        self.total = total
        self._lock = threading.Lock()

    def _say(self, line: str) -> None:
        with self._lock:
            print(line, flush=True)

    def started(self, job: Job) -> None:
        self._say(start_line(job, self.total))

    def ended(self, outcome: Outcome) -> None:
        self._say(end_line(outcome, self.total, best_score(outcome.job.run_dir)))


def _train_process(job: Job, cores: int, progress: Progress) -> Outcome:
    """One run as a ``python -m genlab.runner.sweep.multirun`` process, its output in ``<run>/train.log``."""
    job.run_dir.mkdir(parents=True, exist_ok=True)
    log = job.run_dir / "train.log"
    progress.started(job)
    start = time.monotonic()
    env = {**os.environ, CORES_ENV: str(cores)}
    with log.open("a") as out:  # a sweep started again appends: a finished run's log is kept
        code = subprocess.run([sys.executable, "-m", "genlab.runner.sweep.multirun", *job.args], stdout=out,
                              stderr=subprocess.STDOUT, env=env).returncode
    outcome = Outcome(job, code == 0, log, f"exit {code}", time.monotonic() - start)
    progress.ended(outcome)
    return outcome


def run_local(jobs: list[Job], parallel: int = 1) -> list[Outcome]:
    at_once = max(1, min(parallel, len(jobs)))
    cores, progress = share(usable_cores(), at_once), Progress(len(jobs))
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(lambda job: _train_process(job, cores, progress), jobs))


# submitit job states of a job that has not started running (SLURM's and the local executor's names)
_WAITING = ("PENDING", "UNKNOWN", "REQUEUED", "CONFIGURING", "READY")


def run_submitit(sweep: Sweep, launcher: LauncherConfig) -> list[Outcome]:
    return _follow(sweep.jobs, submit(sweep, launcher))


def submit(sweep: Sweep, launcher: LauncherConfig) -> list:
    """The sweep's runs as one submitit job array of ``TrainJob``s; returns submitit's job handles."""
    import submitit

    executor = submitit.AutoExecutor(folder=sweep.dir / "submitit", cluster=launcher.cluster)
    executor.update_parameters(
        name=sweep.dir.name, timeout_min=launcher.timeout_min, gpus_per_node=launcher.gpus_per_node,
        tasks_per_node=launcher.tasks_per_node, cpus_per_task=launcher.cpus_per_task, mem_gb=launcher.mem_gb,
        slurm_partition=launcher.partition, slurm_account=launcher.account, slurm_qos=launcher.qos,
        # AutoExecutor takes no signal delay for the local executor: it warns 30 s before its time limit
        slurm_array_parallelism=launcher.array_parallelism, slurm_signal_delay_s=launcher.signal_delay_s)
    # the local executor runs every job at once on this machine; a SLURM job has its own cores
    cores = share(usable_cores(), len(sweep.jobs)) if launcher.cluster == "local" else None
    with executor.batch():  # one job array
        return [executor.submit(TrainJob(job.args, cores)) for job in sweep.jobs]


def failure_reason(message: str) -> str:
    """The exception line of a failed submitit job's message (its trace sits between two dashed lines), else the
    message's first line."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    rules = [i for i, line in enumerate(lines) if set(line) == {"-"}]
    return (lines[rules[1] - 1] if len(rules) >= 2 and rules[1] > rules[0] + 1 else lines[0])[:200]


def _follow(jobs: list[Job], handles: list) -> list[Outcome]:
    """Wait for the submitted jobs, saying when each starts and ends."""
    import submitit

    progress, started, outcomes = Progress(len(jobs)), {}, {}
    while len(outcomes) < len(jobs):
        for job, handle in zip(jobs, handles, strict=True):
            if job.index in outcomes:
                continue
            done = handle.done()
            if job.index not in started and (done or handle.state not in _WAITING):
                started[job.index] = time.monotonic()
                progress.started(job)
            if done:
                try:
                    handle.result()
                    ok, exit_ = True, "exit 0"
                except (submitit.core.utils.FailedJobError, submitit.core.utils.UncompletedJobError) as e:
                    ok, exit_ = False, failure_reason(str(e))
                outcomes[job.index] = Outcome(job, ok, handle.paths.stderr, exit_,
                                              time.monotonic() - started[job.index])
                progress.ended(outcomes[job.index])
        time.sleep(0.5 if len(outcomes) < len(jobs) else 0)
    return [outcomes[job.index] for job in jobs]


class SweepFailed(GenlabError):
    """Some runs of a multirun failed (the others finished); not a usage error."""

    exit_code = 1


def summary(sweep: Sweep, outcomes: list[Outcome]) -> list[str]:
    """The closing lines: how many finished, which failed, the W&B group and how to upload offline runs."""
    failed = [o for o in outcomes if not o.ok]
    lines = [f"{len(outcomes) - len(failed)} of {len(outcomes)} runs finished"]
    lines += [f"failed: {o.job.run_dir} (log: {o.log})" for o in failed]
    if any((job.run_dir / "wandb").is_dir() for job in sweep.jobs):  # none: W&B was disabled
        offline = any(any((job.run_dir / "wandb").glob("offline-run-*")) for job in sweep.jobs)
        sync = f"; upload the offline runs with: wandb sync {sweep.dir}/*/wandb/offline-run-*" if offline else ""
        lines.append(f"W&B group: {sweep.group}{sync}")
    return lines


def _job_main(args: list[str]) -> None:
    print(f"run folder: {TrainJob(args)()}")


if __name__ == "__main__":
    sys.exit(run_cli(_job_main, "python -m genlab.runner.sweep.multirun key=value ...: one run of a sweep (see "
                                "scripts/train.py --help)"))
