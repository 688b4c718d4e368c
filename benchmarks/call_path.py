"""How far a newcomer must follow ``scripts/train.py``'s arguments: every call from one file of the runner (or the
script) into another,
from the script's ``main`` until Lightning's ``Trainer.fit`` starts, in order, with the files they go through and
how many times the path returns to a file it had already left (issue 19's reading measure).

    PYTHONPATH=. python benchmarks/call_path.py [--show] [key=value ...]

Runs the real commands under a profiler hook: a one-batch ``ae_mnist`` run into a temporary folder (W&B disabled),
then, after that run has finished in a subprocess, its resume with ``ckpt=auto run_dir=...``.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# the roof and the scripts: the code that turns arguments into a run (calls down into models, data and the floor's
# checks are leaves a reader does not follow)
PROJECT = tuple(str(REPO / top) for top in ("genlab/runner", "scripts"))


class Fit(Exception):
    """Raised at Trainer.fit: the path before it is what the script's arguments go through."""


def trace(args: list[str]) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def hook(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        if code.co_name == "fit" and "pytorch_lightning/trainer/trainer.py" in code.co_filename:
            raise Fit
        caller = frame.f_back
        # calls from one project file into another: what a reader follows (calls within a file read in place)
        if (code.co_filename.startswith(PROJECT) and caller is not None
                and caller.f_code.co_filename.startswith(PROJECT) and caller.f_code.co_filename != code.co_filename
                and not code.co_name.startswith("<")):
            calls.append((os.path.relpath(code.co_filename, REPO), code.co_name))

    sys.argv = [str(REPO / "scripts" / "train.py"), *args]
    sys.setprofile(hook)
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except (Fit, SystemExit):
        pass
    finally:
        sys.setprofile(None)
    return calls


def returns(files: list[str]) -> int:
    """Times the sequence comes back to a file it left earlier."""
    seen, count = set(), 0
    for prev, cur in zip([None, *files], files, strict=False):
        if cur != prev and cur in seen:
            count += 1
        seen.add(cur)
    return count


def row(name: str, calls: list[tuple[str, str]], show: bool) -> str:
    files = [f for f, _ in calls]
    if show:
        print(f"{name}:\n" + "\n".join(f"  {f}:{function}" for f, function in calls))
    return f"| {name} | {len(calls)} | {len(set(files))} | {returns(files)} |"


def main() -> None:
    show = "--show" in sys.argv
    extra = [a for a in sys.argv[1:] if a != "--show"]
    with tempfile.TemporaryDirectory() as tmp:
        run = ["experiment=ae_mnist", "logger.mode=disabled", "trainer.max_epochs=1", "trainer.limit_train_batches=1",
               "trainer.limit_val_batches=1", "trainer.limit_test_batches=0", "trainer.enable_progress_bar=false",
               *extra]
        fresh = trace([*run, f"run_dir={tmp}/traced"])
        subprocess.run([sys.executable, str(REPO / "scripts" / "train.py"), *run, f"run_dir={tmp}/run"], check=True,
                       capture_output=True)
        resume = trace(["ckpt=auto", f"run_dir={tmp}/run", "trainer.max_epochs=2"])
    rows = [row("fresh run", fresh, show), row("resume: ckpt=auto run_dir=...", resume, show)]
    print("| path | calls | files | returns to a file already left |\n|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
