"""Every command of the README's "Many runs" walkthrough, run as written with tiny limits appended."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.helpers import FAST, REPO, child_env, with_args

pytestmark = pytest.mark.slow
TINY = {"scripts/train.py": [*with_args(FAST, "trainer.limit_train_batches=4"), "model.hidden=[32]"],
        "scripts/evaluate.py": ["trainer.limit_test_batches=2", "trainer.enable_progress_bar=false"]}


def walkthrough() -> list[list[str]]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```\n<!-- /walkthrough -->", text, re.S).group(1)
    return [shlex.split(line) for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_walkthrough_block_has_the_sweep_compare_evaluate_and_sample_commands():
    scripts = [cmd[1] for cmd in walkthrough()]
    assert scripts == ["scripts/train.py", "scripts/compare.py", "scripts/evaluate.py", "scripts/sample.py",
                       "scripts/check_sweep.py"]


def test_every_walkthrough_command_runs(tmp_path, data_dir):
    for name in ("scripts", "configs"):  # a checkout's layout; the runs land in tmp_path
        (tmp_path / name).symlink_to(REPO / name)
    env = child_env()
    for cmd in walkthrough():
        assert cmd[0] == ".venv/bin/python"
        full = [sys.executable, *cmd[1:], *TINY.get(cmd[1], [])]
        done = subprocess.run(full, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{shlex.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    sweep = tmp_path / "runs" / "ae_mnist" / "seeds"
    assert len(list(sweep.glob("*/config.yaml"))) == 4
    assert (tmp_path / "val_loss.png").is_file() and (tmp_path / "reconstructions_interpolation.png").is_file()
    assert (sweep / "0-seed=1,model.latent_dim=2" / "metrics.json").is_file()
