"""The small pieces behind run safety, against hand-computed values: resumable data order, item seeding,
non-finite detection, secrets kept as interpolations, the latest checkpoint, the run-folder lock, atomic saves."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from datamodules.base import ResumableLoader, ResumableSampler, SeededItems, item_uniforms
from genlab.core.errors import DivergenceError, RunDirError
from genlab.runner.config.load import non_finite_keys, to_saved
from genlab.runner.run.checkpoints import AtomicCheckpointIO, latest_checkpoint, non_finite_tensors
from genlab.runner.run.divergence import first_non_finite
from genlab.runner.run.rundir import claimed


def test_sampler_order_depends_on_seed_and_epoch_only_and_can_skip():
    a, b = ResumableSampler(10, seed=3), ResumableSampler(10, seed=3)
    first = [i for _, i in a]
    assert sorted(first) == list(range(10)) and first == [i for _, i in b]
    a.set_epoch(1)
    assert [i for _, i in a] != first and {e for e, _ in a} == {1}
    b.set_epoch(0)
    b.skip = 4
    assert [i for _, i in b] == first[4:]
    assert [i for _, i in b] == first  # a skip applies to one pass only


def test_loader_state_resumes_after_the_batches_already_served():
    data = list(range(20))
    straight = ResumableLoader(data, batch_size=3, seed=0)
    batches = [b.tolist() for b in straight]
    stopped = ResumableLoader(data, batch_size=3, seed=0)
    it = iter(stopped)
    served = [next(it).tolist(), next(it).tolist()]
    state = stopped.state_dict()
    assert state == {"epoch": 0, "batches": 2}
    resumed = ResumableLoader(data, batch_size=3, seed=0)
    resumed.load_state_dict(state)
    assert served + [b.tolist() for b in resumed] == batches


def test_item_randomness_is_a_function_of_seed_epoch_and_index():
    class Noisy:
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.rand(())

    items = SeededItems(Noisy(), seed=1)
    before = torch.get_rng_state()
    assert torch.equal(items[(0, 2)], items[(0, 2)]) and not torch.equal(items[(0, 2)], items[(1, 2)])
    assert torch.equal(torch.get_rng_state(), before)  # the process-wide stream is left where it was


def splitmix64(seed: int, n: int) -> list[int]:
    """Steele et al.'s generator in Python's integers, written from the paper: the reference for the tensor one."""
    out, mask = [], 2**64 - 1
    for _ in range(n):
        seed = (seed + 0x9E3779B97F4A7C15) & mask
        z = ((seed ^ (seed >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out.append(z ^ (z >> 31))
    return out


def test_item_uniforms_are_splitmix64_per_seed():
    seeds = [0, 1, 2**62 + 12345, 2**63 - 1]  # the largest: every sum and product wraps
    expected = torch.tensor([[(v >> 40) / 2**24 for v in splitmix64(s, 5)] for s in seeds])
    assert torch.equal(item_uniforms(seeds, 5).double(), expected)
    assert torch.equal(item_uniforms(seeds[2:3], 5), item_uniforms(seeds, 5)[2:3])  # a row owes nothing to its batch


def test_non_finite_detection():
    assert non_finite_keys({"lr": float("inf"), "betas": [0.5, float("nan")], "n": 3}, "model") == \
        ["model.lr", "model.betas.1"]
    assert first_non_finite({"val/loss": float("nan"), "train/a": torch.tensor(1.0),
                             "train/b": torch.tensor(float("-inf"))}) == ("train/b", float("-inf"))
    assert first_non_finite({"train/a": 2.0}) is None
    assert non_finite_tensors({"w": torch.tensor([1.0, float("nan")]), "n": torch.tensor([7]),
                               "v": torch.ones(2)}) == ["w"]


def test_secrets_keep_their_interpolation(monkeypatch):
    monkeypatch.setenv("GENLAB_UNIT_SECRET", "hunter2")
    cfg = OmegaConf.create({"logger": {"notes": "${oc.env:GENLAB_UNIT_SECRET}", "tags": ["a", "${oc.env:HOME}"]},
                            "x": 1, "y": "${x}"})
    recorded = to_saved(cfg)
    assert recorded == {"logger": {"notes": "${oc.env:GENLAB_UNIT_SECRET}", "tags": ["a", "${oc.env:HOME}"]},
                        "x": 1, "y": 1}


def test_latest_checkpoint_is_the_newest_file(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    (tmp_path / "checkpoints").mkdir()
    best, last = tmp_path / "checkpoints" / "best-epoch000.ckpt", tmp_path / "checkpoints" / "last.ckpt"
    best.write_bytes(b"b")
    last.write_bytes(b"l")
    os.utime(best, ns=(1, 1))
    assert latest_checkpoint(tmp_path) == last
    os.utime(best, ns=(2**62, 2**62))
    assert latest_checkpoint(tmp_path) == best


def test_the_lock_admits_one_run_and_is_taken_over_from_a_dead_one(tmp_path):
    run_dir = tmp_path / "run"
    with claimed(run_dir, fresh=True):
        assert (run_dir / ".lock").is_file()
        with pytest.raises(RunDirError, match="in use by another run"), claimed(run_dir, fresh=False):
            pass
    assert not (run_dir / ".lock").exists()
    (run_dir / "config.yaml").write_text("x: 1")
    with pytest.raises(RunDirError, match="already holds a run"), claimed(run_dir, fresh=True):
        pass
    # a run killed with SIGKILL leaves its lock behind; the process it names no longer exists
    code = f"import os, signal; open({str(run_dir / '.lock')!r}, 'w').write(os.uname().nodename + ' ' + " \
           "str(os.getpid())); os.kill(os.getpid(), signal.SIGKILL)"
    subprocess.run([sys.executable, "-c", code], check=False)
    assert (run_dir / ".lock").is_file()
    with claimed(run_dir, fresh=False):
        assert (run_dir / ".lock").read_text().endswith(str(os.getpid()))


def test_atomic_save_replaces_whole_files_and_refuses_non_finite_weights(tmp_path):
    io, path = AtomicCheckpointIO(), tmp_path / "c" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)
    with pytest.raises(DivergenceError, match="non-finite weights in w"):
        io.save_checkpoint({"state_dict": {"w": torch.tensor([float("nan"), 1.0])}}, path)
    assert torch.equal(torch.load(path, weights_only=True)["state_dict"]["w"], torch.ones(2))
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary file left behind
