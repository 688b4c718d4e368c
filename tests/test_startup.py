"""Commands that only read configs or run folders answer without importing torch, Lightning, wandb or matplotlib
(seconds each): ``--help``, ``--cfg``, config errors, ``check_sweep.py`` and ``compare.py`` on run folders; each is
run as a real script in a fresh interpreter, which then reports the modules it imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO, child_env

pytestmark = pytest.mark.slow

HEAVY = ("torch", "pytorch_lightning", "lightning_fabric", "wandb", "matplotlib")
# Runs scripts/<script> as `python scripts/<script> ARGS` would (__main__, sys.argv), then prints its exit status and
# the top-level packages it imported as the last line of stderr.
REPORTER = """
import json, runpy, sys
script, *args = sys.argv[1:]
sys.argv = [script, *args]
status = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    status = e.code
print(json.dumps({"status": status, "packages": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
"""


def imported(script: str, *args: str, cwd=REPO) -> tuple[int, set[str], subprocess.CompletedProcess]:
    done = subprocess.run([sys.executable, "-c", REPORTER, str(REPO / "scripts" / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=child_env())
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["status"], set(report["packages"]), done


CONFIG_COMMANDS = {
    "help": (["--help"], 0, "experiments:"),
    "help_of_an_experiment": (["experiment=gan_mnist", "--help"], 0, "experiment gan_mnist"),
    "help_of_one_group": (["experiment=vae_mnist", "--help", "model"], 0, "model.beta"),
    "cfg": (["experiment=cyclegan_monet", "--cfg"], 0, "name: cyclegan"),
    "cfg_of_a_multirun_value": (["experiment=ae_mnist", "model.latent_dim=2", "--cfg"], 0, "latent_dim: 2"),
    "unknown_key": (["experiment=ae_mnist", "model.latnt_dim=2"], 2, "did you mean 'model.latent_dim'"),
    "bad_value": (["experiment=ae_mnist", "model.lr=-1"], 2, "model.lr=-1.0: must be a finite number > 0"),
    "unknown_experiment": (["experiment=nope"], 2, "unknown experiment 'nope'"),
    "unknown_trainer_key": (["experiment=ae_mnist", "trainer.max_epoch=2"], 2, "did you mean 'trainer.max_epochs'"),
}


@pytest.mark.parametrize("case", CONFIG_COMMANDS)
def test_config_commands_import_no_torch_lightning_wandb_or_matplotlib(case):
    args, status, says = CONFIG_COMMANDS[case]
    code, packages, done = imported("train.py", *args)
    assert code == status, done.stderr[-2000:]
    assert says in done.stdout + done.stderr
    assert not packages & set(HEAVY), sorted(packages & set(HEAVY))


def test_check_sweep_imports_none_of_them():
    code, packages, done = imported("check_sweep.py", *map(str, sorted((REPO / "configs" / "sweep").glob("*.yaml"))))
    assert code == 0 and "configs composed" in done.stdout, done.stderr[-2000:]
    assert not packages & set(HEAVY), sorted(packages & set(HEAVY))


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_compare_on_run_folders_imports_none_of_them(finished_runs, fmt):
    code, packages, done = imported("compare.py", str(finished_runs), "--format", fmt)
    assert code == 0, done.stderr[-2000:]
    assert "latent_dim" in done.stdout  # the key the two runs differ in
    assert not packages & set(HEAVY), sorted(packages & set(HEAVY))


def test_compare_plot_imports_matplotlib_only_when_it_draws(finished_runs, tmp_path):
    """Also the probe's positive control: a command that does import one of them is seen doing so."""
    code, packages, done = imported("compare.py", str(finished_runs), "--plot", "train/loss_epoch", "--plot-out",
                                    str(tmp_path / "loss.png"))
    assert code == 0, done.stderr[-2000:]
    assert (tmp_path / "loss.png").stat().st_size > 0
    assert "matplotlib" in packages and not packages & {"torch", "pytorch_lightning", "wandb"}


def test_startup_benchmark_tiny_prints_a_row_per_command(finished_runs):
    done = subprocess.run([sys.executable, "benchmarks/startup.py", "--tiny", "--runs", str(finished_runs)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env=child_env())
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split("|")[1].strip(): line.split("|")[2:4] for line in done.stdout.splitlines()
            if line.startswith("| ") and not line.startswith("| command")}
    assert "TINY MODE" in done.stdout and len(rows) == 13
    assert float(rows["python -c 'import torch'"][1]) == 1.0  # every ratio is to this row
    assert all(float(seconds) > 0 for seconds, _ in rows.values())
