"""The library internals of genlab.core.compat still exist and still do what genlab relies on: this fails loudly
when an upgrade moves one."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from omegaconf import OmegaConf

from genlab.core.compat import is_string_field, stop_after_this_batch
from tests.helpers import child_env, fresh_machine, quiet_trainer


def test_stop_after_this_batch_is_lightnings_sigterm_flag():
    trainer = quiet_trainer()
    assert trainer.received_sigterm is False
    stop_after_this_batch(trainer)
    assert trainer.received_sigterm is True  # the flag Lightning's training loop raises SIGTERMException on


@dataclass
class _Fields:
    name: str | None = None
    count: int = 1


def test_is_string_field_reads_the_declared_type_also_of_a_none_value_and_not_an_untyped_value():
    cfg = OmegaConf.structured(_Fields)
    assert is_string_field(cfg, "name") and not is_string_field(cfg, "count")
    untyped = OmegaConf.create({"text": "a", "number": 2})
    assert not is_string_field(untyped, "text") and not is_string_field(untyped, "number")


def test_wandb_cache_dir_follows_wandbs_own_rule(monkeypatch, tmp_path):
    import wandb.env  # the test may read wandb's internals; genlab itself does not

    from genlab.runner.run.environment import wandb_cache_dir

    monkeypatch.delenv("WANDB_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert wandb_cache_dir() == wandb.env.get_cache_dir()
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "cache"))
    assert wandb_cache_dir() == wandb.env.get_cache_dir() == tmp_path / "cache"


def test_wandb_init_imports_its_launch_package(tmp_path):
    # what genlab.core.compat.import_wandb_launch front-loads; a fresh process, as a run starts
    code = ("import sys, wandb; before = 'wandb.sdk.launch' in sys.modules; "
            "wandb.init(mode='offline', dir=sys.argv[1]).finish(); print(before, 'wandb.sdk.launch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          env=child_env(fresh_machine(tmp_path)), timeout=300)
    assert done.stdout.split()[-2:] == ["False", "True"], done.stderr[-2000:]

