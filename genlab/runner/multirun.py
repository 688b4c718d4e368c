"""Seeds and grids: ``scripts/train.py --multirun seed=1,2,3 model.latent_dim=2,16`` trains the product of the
comma-separated values, each run in its own folder under one sweep folder and in one W&B group.

Runs go one after another as ``scripts/train.py`` processes (``--jobs N``: N at once), or through submitit
(``--launcher slurm``: a SLURM job array; ``--launcher local``: the same path with submitit's local executor).
"""

from __future__ import annotations

import itertools
import re
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from genlab.core.errors import ConfigError, GenlabError
from genlab.runner.config import check_before_run, compose
from genlab.runner.config.load import CONFIG_DIR
from genlab.runner.rundir import REPO_ROOT

LAUNCHER_PREFIX = "launcher."


FLAGS_WITH_VALUE = ("--jobs", "--launcher")


def split_flags(args: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """``--multirun``, ``--jobs N``, ``--launcher NAME`` (also ``--flag=value``); every other ``--key=value`` is
    the ``key=value`` a W&B agent means by it."""
    flags, rest, i = {}, [], 0
    while i < len(args):
        arg = args[i]
        name, sep, value = arg.partition("=")
        if arg == "--multirun":
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
            raise ConfigError(f"unknown option {arg!r}; options: --cfg --multirun --jobs N --launcher NAME "
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
    """Split ``key=value`` arguments into fixed ones and swept ones (``key=a,b``: key -> [a, b])."""
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
        if key in swept or len(set(values)) != len(values):
            raise ConfigError(f"multirun key {key!r} is given twice or repeats a value in {arg!r}")
        swept[key] = values
    return fixed, swept


def grid(swept: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination, the last key varying fastest."""
    return [dict(zip(swept, combo, strict=True)) for combo in itertools.product(*swept.values())]


def folder_name(index: int, values: dict[str, str]) -> str:
    """``3-model.latent_dim=16,seed=2``: the run's index and values, safe as one path component."""
    label = ",".join(f"{k}={v}" for k, v in values.items())
    return f"{index}-{re.sub(r'[^A-Za-z0-9._=,+-]', '_', label)}"[:120]


def wandb_sweep_run_dir(experiment: str, sweep_id: str) -> Path:
    """A run started by ``wandb agent``: ``runs/<experiment>/sweep-<sweep id>/<time>-<id>``."""
    return Path("runs") / experiment / f"sweep-{sweep_id}" / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


@dataclass
class Job:
    args: list[str]
    run_dir: Path


def plan(args: list[str], sweep_dir: Path | None = None) -> tuple[Path, list[Job]]:
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
    jobs = []
    for i, values in enumerate(grid(swept)):
        run_dir = base / folder_name(i, values)
        job_args = [*common, *(f"{k}={v}" for k, v in values.items()), f"run_dir={run_dir}", f"logger.group={group}"]
        check_before_run(compose(job_args))
        jobs.append(Job(job_args, run_dir))
    return base, jobs


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


@dataclass
class Outcome:
    job: Job
    ok: bool
    log: Path


def _train_process(job: Job) -> Outcome:
    """One run as a ``scripts/train.py`` process, its output in ``<run>/train.log``."""
    job.run_dir.mkdir(parents=True, exist_ok=True)
    log = job.run_dir / "train.log"
    with log.open("w") as out:
        code = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *job.args], stdout=out,
                              stderr=subprocess.STDOUT).returncode
    return Outcome(job, code == 0, log)


def run_local(jobs: list[Job], parallel: int = 1) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(_train_process, jobs))


def train_job(args: list[str]) -> str:
    """What a submitit job runs: one training, in the job's own process."""
    from genlab.runner.train import train

    return str(train(compose(args)).run_dir)


def run_submitit(jobs: list[Job], launcher: LauncherConfig, sweep_dir: Path) -> list[Outcome]:
    import submitit

    executor = submitit.AutoExecutor(folder=sweep_dir / "submitit", cluster=launcher.cluster)
    executor.update_parameters(
        name=sweep_dir.name, timeout_min=launcher.timeout_min, gpus_per_node=launcher.gpus_per_node,
        tasks_per_node=launcher.tasks_per_node, cpus_per_task=launcher.cpus_per_task, mem_gb=launcher.mem_gb,
        slurm_partition=launcher.partition, slurm_account=launcher.account, slurm_qos=launcher.qos,
        slurm_array_parallelism=launcher.array_parallelism)
    submitted = executor.map_array(train_job, [job.args for job in jobs])
    outcomes = []
    for job, handle in zip(jobs, submitted, strict=True):
        try:
            handle.result()
            ok = True
        except (submitit.core.utils.FailedJobError, submitit.core.utils.UncompletedJobError):
            ok = False
        outcomes.append(Outcome(job, ok, handle.paths.stderr))
    return outcomes


class SweepFailed(GenlabError):
    """Some runs of a multirun failed (the others finished); not a usage error."""

    exit_code = 1


def summary(outcomes: list[Outcome]) -> list[str]:
    failed = [o for o in outcomes if not o.ok]
    lines = [f"{len(outcomes) - len(failed)} of {len(outcomes)} runs finished"]
    lines += [f"failed: {o.job.run_dir} (log: {o.log})" for o in failed]
    return lines
