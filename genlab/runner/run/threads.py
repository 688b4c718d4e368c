"""How many threads a run's torch uses: its share of the machine's cores, so that the processes of a sweep
(``--jobs N``, submitit's local executor) and the DDP ranks of one run on one machine do not oversubscribe it
(torch's default, one thread per core in every process, slowed two processes on two cores far beyond 2x)."""

from __future__ import annotations

import os

CORES_ENV = "GENLAB_CORES"  # the cores a sweep gives one of its runs (set by the sweep for its run processes)
USER_ENV = "OMP_NUM_THREADS"  # the user's setting wins


def usable_cores() -> int:
    """The cores this process may run on (a SLURM or cgroup CPU set counts, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def share(cores: int, processes: int) -> int:
    """Each of ``processes`` processes' share of ``cores``: at least one thread."""
    return max(1, cores // max(1, processes))


def local_processes(devices) -> int:
    """How many processes of one run share this machine: torchrun's count per node, else ``trainer.devices``
    (Lightning starts one process per device)."""
    if os.environ.get("LOCAL_WORLD_SIZE", "").isdigit():
        return int(os.environ["LOCAL_WORLD_SIZE"])
    if isinstance(devices, list | tuple):
        return max(1, len(devices))
    return devices if isinstance(devices, int) and devices > 0 else 1


def fit_threads(devices) -> tuple[str, dict[str, str]]:
    """Set torch's thread count to this process's share of the cores unless ``OMP_NUM_THREADS`` is set; returns
    the line that says so and the environment the run's child processes (DDP ranks, workers) should get."""
    import torch  # here: a sweep reads its thread shares above without importing torch (scripts/train.py --help)

    if os.environ.get(USER_ENV):
        return f"threads: {torch.get_num_threads()} ({USER_ENV}={os.environ[USER_ENV]})", {}
    cores, processes = int(os.environ.get(CORES_ENV) or usable_cores()), local_processes(devices)
    threads = share(cores, processes)
    torch.set_num_threads(threads)
    per = f" / {processes} processes" if processes > 1 else ""
    return (f"threads: {threads} ({cores} core{'s' if cores > 1 else ''}{per}; {USER_ENV} chooses another count)",
            {USER_ENV: str(threads)})
