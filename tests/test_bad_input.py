"""Every bad input ends with one ``error:`` line on stderr and exit code 2, before anything is written: the
workspace (a real run folder, its checkpoint, input images) has the same files with the same bytes afterwards."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
from PIL import Image

from datamodules.image_files import load_rgb, to_8bit
from genlab.runner.cli import run_cli
from tests.helpers import REPO, run_script, tree_checksums
from tests.helpers import RUN_SECRET as SECRET

AE = ["experiment=ae_mnist", "model.latent_dim=2", "data.batch_size=16"]
LAST = "run/checkpoints/last.ckpt"

# (script, arguments, a word the error line must contain); paths are relative to the workspace.
# The cases the issue lists run as real subprocesses of the scripts ...
CASES = {
    "accelerator_gpu_without_gpu": ("train.py", [*AE, "trainer.accelerator=gpu"], "gpu"),
    "devices_abc": ("train.py", [*AE, "trainer.accelerator=cpu", "trainer.devices=abc"], "devices"),
    "strategy_foo": ("train.py", [*AE, "trainer.strategy=foo"], "strategy"),
    "precision_13": ("train.py", [*AE, "trainer.precision=13"], "Precision"),
    "max_time_garbage": ("train.py", [*AE, "trainer.max_time=garbage"], "duration"),
    "check_val_every_n_epoch_0": ("train.py", [*AE, "trainer.check_val_every_n_epoch=0"], "check_val_every_n_epoch"),
    "monitor_never_logged": ("train.py", [*AE, "callbacks.monitor=val/nope"], "never logs"),
    "model_data_mismatch": ("train.py", [*AE, "data=monet2photo"], "unpaired"),
    "ckpt_random_bytes": ("train.py", ["ckpt=random.ckpt"], "unreadable"),
    "run_dir_is_a_file": ("train.py", [*AE, "run_dir=afile"], "is a file"),
    "run_dir_not_writable": ("train.py", [*AE, "run_dir=/proc/genlab-run"], "cannot write"),
    "translate_device_bogus": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=out", "device=bogus"],
                               "device"),
    "translate_output_is_a_file": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=afile"], "is a file"),
    "translate_output_inside_input": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=images/out"],
                                      "inside the input"),
    "seed_beyond_64_bits": ("train.py", [*AE, "seed=18446744073709551617"], "seed"),
    "logger_project_mapping": ("train.py", [*AE, "logger.project={a: 1}"], "project"),
    "resume_with_bad_trainer_value": ("train.py", [f"ckpt={LAST}", "trainer.precision=13"], "Precision"),
    "evaluate_random_bytes": ("evaluate.py", ["ckpt=random.ckpt"], "unreadable"),
}
# ... and the rest of their families through the same entry points in this process (the CPU is scarce: each
# subprocess pays for importing torch and Lightning)
FAMILY = {
    "devices_zero": ("train.py", [*AE, "trainer.accelerator=cpu", "trainer.devices=0"], "devices"),
    "limit_train_batches_1.5": ("train.py", [*AE, "trainer.limit_train_batches=1.5"], "limit_train_batches"),
    "gradient_clip_algorithm_foo": ("train.py", [*AE, "trainer.gradient_clip_algorithm=foo"], "gradient_clip"),
    "profiler_foo": ("train.py", [*AE, "trainer.profiler=foo"], "profiler"),
    "num_sanity_val_steps_-5": ("train.py", [*AE, "trainer.num_sanity_val_steps=-5"], "num_sanity_val_steps"),
    "log_every_n_steps_0": ("train.py", [*AE, "trainer.log_every_n_steps=0"], "log_every_n_steps"),
    "deterministic_maybe": ("train.py", [*AE, "trainer.deterministic=maybe"], "deterministic"),
    "max_epochs_text": ("train.py", [*AE, "trainer.max_epochs=ten"], "max_epochs"),
    "trainer_key_typo": ("train.py", [*AE, "trainer.max_epoch=1"], "did you mean 'trainer.max_epochs'"),
    "trainer_logger_set_by_genlab": ("train.py", [*AE, "trainer.logger=false"], "logger"),
    "trainer_default_root_dir": ("train.py", [*AE, "trainer.default_root_dir=x"], "run_dir"),
    "unknown_experiment": ("train.py", ["experiment=nope"], "unknown experiment"),
    "monitor_on_cyclegan": ("train.py", ["experiment=cyclegan_monet_small", "callbacks.monitor=val/loss"],
                            "no validation"),
    "gan_on_unpaired_data": ("train.py", ["experiment=gan_mnist", "data=monet2photo"], "unpaired"),
    "cyclegan_on_mnist": ("train.py", ["experiment=cyclegan_monet_small", "data=mnist"], "labelled"),
    "seed_negative": ("train.py", [*AE, "seed=-1"], "seed"),
    "seed_text": ("train.py", [*AE, "seed=abc"], "seed"),
    "logger_project_slash": ("train.py", [*AE, "logger.project=a/b"], "project"),
    "lr_text": ("train.py", [*AE, "model.lr=abc"], "model.lr"),
    "not_key_value": ("train.py", [*AE, "oops"], "key=value"),
    "run_dir_below_a_file": ("train.py", [*AE, "run_dir=afile/sub"], "is a file"),
    "ckpt_missing": ("train.py", ["ckpt=missing.ckpt"], "does not exist"),
    "ckpt_is_a_folder": ("train.py", ["ckpt=run"], "does not exist"),
    "resume_other_model": ("train.py", ["experiment=vae_mnist", f"ckpt={LAST}"], "autoencoder"),
    "evaluate_bad_eval_value": ("evaluate.py", [f"ckpt={LAST}", "eval.batch_size=0"], "eval.batch_size"),
    "translate_output_is_input": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=images"],
                                  "is the input folder"),
    "translate_device_missing_cuda": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=out",
                                                       "device=cuda:7"], "device"),
    "translate_random_checkpoint": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=out"],
                                    "unreadable"),
    "translate_not_a_cyclegan": ("translate.py", [f"ckpt={LAST}", "input=images", "output=out"], "not a CycleGAN"),
    "translate_missing_input": ("translate.py", ["ckpt=random.ckpt", "input=nothing", "output=out"], "does not exist"),
    "translate_direction": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=out", "direction=up"],
                            "direction"),
    "translate_batch_size_text": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=out", "batch_size=x"],
                                  "batch_size"),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, data_dir, secret_run):
    """A real finished run (a copy of the session's: trained in this process through the path scripts/train.py
    takes, its logger.notes a ${oc.env:...} reference), a random-bytes "checkpoint", a file, and input images."""
    ws = tmp_path_factory.mktemp("ws")
    shutil.copytree(secret_run, ws / "run")
    (ws / "random.ckpt").write_bytes(np.random.default_rng(0).bytes(4096))
    (ws / "afile").write_text("not a folder\n")
    (ws / "images").mkdir()
    for path in sorted((data_dir / "monet2photo" / "testA").glob("*.jpg"))[:2]:
        shutil.copy(path, ws / "images" / path.name)
    return ws


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_touches_nothing(workspace, name):
    script, args, word = CASES[name]
    before = tree_checksums(workspace)
    # the workspace run's saved config refers to the variable, as the family below sets it
    done = run_script(script, *args, cwd=workspace, timeout=300, env={"GENLAB_TEST_SECRET": SECRET})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert word in lines[0], lines[0]
    assert tree_checksums(workspace) == before


@pytest.mark.parametrize("name", list(FAMILY))
def test_bad_input_family_is_one_line_exit_2_and_touches_nothing(workspace, name, monkeypatch, capsys):
    script, args, word = FAMILY[name]
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("GENLAB_TEST_SECRET", SECRET)  # the workspace run's saved config refers to it
    before = tree_checksums(workspace)
    spec = importlib.util.spec_from_file_location(f"script_{script[:-3]}", REPO / "scripts" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = run_cli(module.main, module.__doc__, list(args))
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert word in lines[0], lines[0]
    assert tree_checksums(workspace) == before


def test_values_from_the_environment_are_saved_as_references_not_in_clear(workspace):
    files = [p for p in (workspace / "run").rglob("*") if p.is_file()]
    assert any(p.suffix == ".ckpt" for p in files)
    assert not [p for p in files if SECRET.encode() in p.read_bytes()]
    assert "${oc.env:GENLAB_TEST_SECRET}" in (workspace / "run" / "config.yaml").read_text()


def test_16_bit_samples_scale_to_the_full_8_bit_range():
    assert to_8bit(np.array([0, 128, 129, 257, 32896, 65535], dtype=np.uint16)).tolist() == [0, 0, 1, 1, 128, 255]


def test_a_16_bit_png_loads_with_its_grey_levels_not_clipped_white(tmp_path):
    ramp = (np.arange(256, dtype=np.uint32) * 257).astype(np.uint16).reshape(16, 16)  # level k stored as 257 k
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    rgb = np.asarray(load_rgb(tmp_path / "ramp16.png"))
    assert rgb.shape == (16, 16, 3)
    assert (rgb[..., 0] == np.arange(256).reshape(16, 16)).all() and (rgb[..., 0] == rgb[..., 2]).all()
