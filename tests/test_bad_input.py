"""Every bad input ends with one ``error:`` line on stderr and exit code 2, before anything is written: the
workspace (a real run folder, its checkpoint, input images, foreign and damaged checkpoints, sweep files) has the
same files with the same bytes afterwards. One table row per refusal: CASES through real subprocesses (at least
one per command), FAMILY through the same entry points in this process."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules.image_files import load_rgb, to_8bit
from tests.helpers import FAST, call_script, child_env, run_script, tree_checksums, with_args
from tests.helpers import RUN_SECRET as SECRET

AE = ["experiment=ae_mnist", "model.latent_dim=2", "data.batch_size=16"]
LAST = "run/checkpoints/last.ckpt"

# (script, arguments, a word the error line must contain); paths are relative to the workspace.
# The cases the issue lists run as real subprocesses of the scripts ...
CASES = {
    "check_val_every_n_epoch_0": ("train.py", [*AE, "trainer.check_val_every_n_epoch=0"], "check_val_every_n_epoch"),
    "monitor_never_logged": ("train.py", [*AE, "callbacks.monitor=val/nope"], "never logs"),
    "model_data_mismatch": ("train.py", [*AE, "data=monet2photo"], "unpaired"),
    "ckpt_random_bytes": ("train.py", ["ckpt=random.ckpt"], "unreadable"),
    "run_dir_is_a_file": ("train.py", [*AE, "run_dir=afile"], "is a file"),
    "run_dir_not_writable": ("train.py", [*AE, "run_dir=/proc/genlab-run"], "cannot write"),
    "translate_output_is_a_file": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=afile"], "is a file"),
    "seed_beyond_64_bits": ("train.py", [*AE, "seed=18446744073709551617"], "seed"),
    "evaluate_random_bytes": ("evaluate.py", ["ckpt=random.ckpt"], "unreadable"),
    "multirun_jobs_0": ("train.py", ["--multirun", *AE, "seed=1,2", "--jobs", "0"], "--jobs"),
    "compare_bad_format": ("compare.py", ["run", "--format", "xml"], "--format"),
    "sample_out_not_a_picture": ("sample.py", [f"ckpt={LAST}", "out=x.nope"], "picture format"),
    "check_sweep_list": ("check_sweep.py", ["sweep_list.yaml"], "parameters"),
    # a live run holds the folder: a second process holding its lock the way a run takes it (rundir.claimed)
    "ckpt_auto_locked_folder": ("train.py", ["ckpt=auto", "run_dir=run"], "in use by another run",
                                {"locked": "run"}),
    # the environment, in real variables (None: unset); W&B's mode is set where the row needs W&B to run
    "home_not_writable_for_wandb": ("train.py", [*AE, "run_dir=fresh"], "HOME=/proc/genlab-home: W&B",
                                    {"env": {"HOME": "/proc/genlab-home", "WANDB_MODE": "offline",
                                             "WANDB_CACHE_DIR": None, "XDG_CACHE_HOME": None}}),
    "home_not_writable_for_the_classifier": ("train.py", ["experiment=gan_mnist", "logger.mode=disabled",
                                                          "run_dir=fresh"], "HOME=/proc/genlab-home: the MNIST",
                                             {"env": {"HOME": "/proc/genlab-home", "GENLAB_CACHE_DIR": None}}),
    "wandb_dir_not_writable": ("train.py", [*AE, "run_dir=fresh"], "WANDB_DIR",
                               {"env": {"WANDB_DIR": "/proc/genlab-wandb", "WANDB_MODE": "offline"}}),
    "genlab_cache_dir_a_file": ("train.py", ["experiment=gan_mnist", "run_dir=fresh"], "GENLAB_CACHE_DIR",
                                {"env": {"GENLAB_CACHE_DIR": "afile"}}),
    "wandb_mode_garbage": ("train.py", [*AE, "run_dir=fresh"], "WANDB_MODE", {"env": {"WANDB_MODE": "garbage"}}),
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
    # the surface added by the multirun/sweep/resume round, and the families that ended in a traceback
    "multirun_jobs_text": ("train.py", ["--multirun", *AE, "seed=1,2", "--jobs=x"], "--jobs"),
    "multirun_jobs_negative": ("train.py", ["--multirun", *AE, "seed=1,2", "--jobs", "-2"], "--jobs"),
    "multirun_launcher_unknown": ("train.py", ["--multirun", *AE, "seed=1,2", "--launcher", "nope"], "launcher"),
    "multirun_launcher_key": ("train.py", ["--multirun", *AE, "seed=1,2", "--launcher", "local", "launcher.nope=1"],
                              "nope"),
    "dash_key_empty": ("train.py", [*AE, "--=3"], "key=value"),
    "dash_key_without_value": ("train.py", [*AE, "--model.lr"], "unknown option"),
    "dash_key_unknown": ("train.py", [*AE, "--nope=1"], "unknown config key"),
    "ckpt_auto_missing_folder": ("train.py", ["ckpt=auto", "run_dir=nothing"], "found no checkpoint"),
    "ckpt_auto_empty_folder": ("train.py", ["ckpt=auto", "run_dir=empty"], "found no checkpoint"),
    "ckpt_auto_folder_is_a_file": ("train.py", ["ckpt=auto", "run_dir=afile"], "found no checkpoint"),
    "ckpt_auto_corrupt_with_experiment": ("train.py", [*AE, "ckpt=auto", "run_dir=corrupt"], "unreadable"),
    "compare_missing_folder": ("compare.py", ["nothing"], "no runs"),
    "compare_empty_folder": ("compare.py", ["empty"], "no runs"),
    "compare_sort_unknown": ("compare.py", ["run", "--sort", "nope"], "--sort"),
    "compare_plot_unknown": ("compare.py", ["run", "--plot", "val/nope"], "--plot"),
    "compare_filter_garbage": ("compare.py", ["run", "--filter", "noequals"], "--filter"),
    "compare_unknown_option": ("compare.py", ["run", "--bogus"], "--bogus"),
    "sample_random_bytes": ("sample.py", ["ckpt=random.ckpt"], "unreadable"),
    "sample_n_0": ("sample.py", [f"ckpt={LAST}", "n=0"], "n=0"),
    "sample_out_below_a_file": ("sample.py", [f"ckpt={LAST}", "out=afile/x.png"], "is a file"),
    "sample_unknown_key": ("sample.py", [f"ckpt={LAST}", "foo=1"], "unknown argument"),
    "sample_entry_without_config": ("sample.py", ["ckpt=wrongtype.ckpt"], "without a run config"),
    "check_sweep_missing": ("check_sweep.py", ["nothing.yaml"], "does not exist"),
    "check_sweep_not_yaml": ("check_sweep.py", ["sweep_bad.yaml"], "not valid YAML"),
    "check_sweep_folder": ("check_sweep.py", ["empty"], "does not exist"),
    "lightning_callback_unknown": ("train.py", [*AE, "callbacks.lightning=[nope]"], "unknown callback"),
    "lightning_callback_bad_option": ("train.py", [*AE, "callbacks.lightning=[early_stopping]",
                                                   "callbacks.options.early_stopping.bogus=1"], "bogus"),
    "lightning_callback_options_a_list": ("train.py", [*AE, "callbacks.lightning=[early_stopping]",
                                                       "callbacks.options.early_stopping=[1,2]"], "early_stopping"),
    "lightning_ema_decay_2": ("train.py", [*AE, "callbacks.lightning=[ema_weight_averaging]",
                                           "callbacks.options.ema_weight_averaging.decay=2"], "decay"),
    "lightning_list_is_a_mapping": ("train.py", [*AE, "callbacks.lightning={a: 1}"], "a mapping where a list"),
    "callbacks_options_a_list": ("train.py", [*AE, "callbacks.options=[1,2]"], "a list where a mapping"),
    "checkpoint_steps_negative": ("train.py", [*AE, "checkpoint.every_n_steps=-1"], "checkpoint.every_n_steps"),
    "checkpoint_minutes_text": ("train.py", [*AE, "checkpoint.every_minutes=abc"], "checkpoint.every_minutes"),
    "checkpoint_minutes_inf": ("train.py", [*AE, "checkpoint.every_minutes=inf"], "checkpoint.every_minutes"),
    "checkpoint_key_unknown": ("train.py", [*AE, "checkpoint.nope=1"], "checkpoint.nope"),
    "heartbeat_negative": ("train.py", [*AE, "console.heartbeat_minutes=-1"], "console.heartbeat_minutes"),
    "ema_decay_1": ("train.py", ["experiment=gan_mnist", "model.ema_decay=1"], "model.ema_decay"),
    "ema_decay_negative": ("train.py", ["experiment=gan_mnist", "model.ema_decay=-0.1"], "model.ema_decay"),
    "ema_decay_nan": ("train.py", ["experiment=gan_mnist", "model.ema_decay=nan"], "model.ema_decay"),
    "train_plain_dict": ("train.py", ["ckpt=plain.ckpt"], "not written by genlab"),
    "train_entry_without_config": ("train.py", ["ckpt=wrongtype.ckpt"], "without a run config"),
    "train_entry_a_string": ("train.py", ["ckpt=wrongentry.ckpt"], "without a run config"),
    "train_experiment_and_entry_without_config": ("train.py", [*AE, "ckpt=wrongtype.ckpt"], "without a run config"),
    "evaluate_plain_dict": ("evaluate.py", ["ckpt=plain.ckpt"], "not written by genlab"),
    "evaluate_entry_without_config": ("evaluate.py", ["ckpt=wrongtype.ckpt"], "without a run config"),
    "evaluate_entry_a_string": ("evaluate.py", ["ckpt=wrongentry.ckpt"], "without a run config"),
    "translate_plain_dict": ("translate.py", ["ckpt=plain.ckpt", "input=images", "output=out"],
                             "not written by genlab"),
    "model_too_large_for_memory": ("train.py", [*AE, "model.hidden=[100000000,100000000]"], "GiB"),
    "latent_too_large_for_memory": ("train.py", with_args(AE, "model.latent_dim=10000000000"), "GiB"),
    "evaluate_training_key": ("evaluate.py", [f"ckpt={LAST}", "trainer.max_epochs=5"], "does not use"),
    "evaluate_checkpoint_key": ("evaluate.py", [f"ckpt={LAST}", "checkpoint.every_n_steps=5"], "does not use"),
    "evaluate_seed": ("evaluate.py", [f"ckpt={LAST}", "seed=3"], "does not use"),
    "value_yaml_cannot_read": ("train.py", [*AE, "logger.tags=[${oc.env:HOME}]"], "not valid YAML"),
    "batch_size_beyond_memory": ("train.py", with_args(AE, f"data.batch_size={10**12}"), "data.batch_size"),
    # a key given twice: which value was meant is not guessed
    "key_twice": ("train.py", [*AE, "model.lr=1", "model.lr=2"], "model.lr is given twice"),
    "dash_key_twice": ("train.py", [*AE, "--model.lr=1", "model.lr=2"], "model.lr is given twice"),
    "experiment_twice": ("train.py", ["experiment=ae_mnist", "experiment=vae_mnist"], "experiment is given twice"),
    "group_choice_twice": ("train.py", [*AE, "data=mnist", "data=monet2photo"], "data is given twice"),
    "multirun_key_twice": ("train.py", ["--multirun", *AE, "seed=1,2", "seed=3"], "seed is given twice"),
    "multirun_run_dir_twice": ("train.py", ["--multirun", *AE, "seed=1,2", "run_dir=a", "run_dir=b"],
                               "run_dir is given twice"),
    "resume_key_twice": ("train.py", [f"ckpt={LAST}", "trainer.max_epochs=2", "trainer.max_epochs=3"],
                         "trainer.max_epochs is given twice"),
    "ckpt_twice": ("train.py", [f"ckpt={LAST}", "ckpt=random.ckpt"], "ckpt is given twice"),
    "evaluate_ckpt_twice": ("evaluate.py", [f"ckpt={LAST}", f"ckpt={LAST}"], "ckpt is given twice"),
    "sample_n_twice": ("sample.py", [f"ckpt={LAST}", "n=4", "n=8"], "n is given twice"),
    # Lightning's own checks of Trainer values and the checkpoint readers: in this process, since each subprocess
    # of these pays for importing Lightning (about 10 s of the suite's time each); CASES keeps one per command
    "accelerator_gpu_without_gpu": ("train.py", [*AE, "trainer.accelerator=gpu"], "gpu"),
    "devices_abc": ("train.py", [*AE, "trainer.accelerator=cpu", "trainer.devices=abc"], "devices"),
    "strategy_foo": ("train.py", [*AE, "trainer.strategy=foo"], "strategy"),
    "precision_13": ("train.py", [*AE, "trainer.precision=13"], "Precision"),
    "max_time_garbage": ("train.py", [*AE, "trainer.max_time=garbage"], "duration"),
    "logger_project_mapping": ("train.py", [*AE, "logger.project={a: 1}"], "project"),
    "resume_with_bad_trainer_value": ("train.py", [f"ckpt={LAST}", "trainer.precision=13"], "Precision"),
    "ckpt_auto_corrupt_folder": ("train.py", ["ckpt=auto", "run_dir=corrupt"], "unreadable"),
    "translate_device_bogus": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=out", "device=bogus"],
                               "device"),
    "translate_output_inside_input": ("translate.py", ["ckpt=random.ckpt", "input=images", "output=images/out"],
                                      "inside the input"),
    "translate_entry_without_config": ("translate.py", ["ckpt=wrongtype.ckpt", "input=images", "output=out"],
                                       "without a run config"),
    "evaluate_changed_model_key": ("evaluate.py", [f"ckpt={LAST}", "model.latent_dim=8"], "does not use"),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, data_dir, secret_run):
    """A real finished run (a copy of the session's: trained in this process through the path scripts/train.py
    takes, its logger.notes a ${oc.env:...} reference), a random-bytes "checkpoint", a file, and input images."""
    ws = tmp_path_factory.mktemp("ws")
    shutil.copytree(secret_run, ws / "run")
    (ws / "random.ckpt").write_bytes(np.random.default_rng(0).bytes(4096))
    torch.save({"a": 1}, ws / "plain.ckpt")  # a PyTorch file, not genlab's
    torch.save({"genlab": {"config": [1, 2]}}, ws / "wrongtype.ckpt")  # genlab's key, a config of the wrong type
    torch.save({"genlab": "text"}, ws / "wrongentry.ckpt")
    (ws / "empty").mkdir()
    (ws / "corrupt" / "checkpoints").mkdir(parents=True)
    (ws / "corrupt" / "checkpoints" / "last.ckpt").write_bytes(b"garbage")
    (ws / "sweep_list.yaml").write_text("- a\n- b\n")
    (ws / "sweep_bad.yaml").write_text("a: [\n")
    (ws / "afile").write_text("not a folder\n")
    (ws / "images").mkdir()
    for path in sorted((data_dir / "monet2photo" / "testA").glob("*.jpg"))[:2]:
        shutil.copy(path, ws / "images" / path.name)
    return ws


@contextlib.contextmanager
def held_lock(run_dir):
    """A second, live process holds ``run_dir``'s lock, taken as a run takes it (``rundir.claimed``), until the
    block ends; then it lets go as a run does (the lock file removed)."""
    code = ("import sys\nfrom pathlib import Path\nfrom genlab.runner.run.rundir import claimed\n"
            "with claimed(Path(sys.argv[1]), fresh=False):\n    print('held', flush=True)\n    sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(run_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_touches_nothing(workspace, name):
    script, args, word, *setup = CASES[name]
    setup = setup[0] if setup else {}
    before = tree_checksums(workspace)
    locked = held_lock(workspace / setup["locked"]) if "locked" in setup else contextlib.nullcontext()
    with locked:
        # the workspace run's saved config refers to the variable, as the family below sets it
        done = run_script(script, *args, cwd=workspace, timeout=300,
                          env={"GENLAB_TEST_SECRET": SECRET, **setup.get("env", {})})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert word in lines[0], lines[0]
    assert tree_checksums(workspace) == before


@pytest.mark.parametrize("name", list(FAMILY))
def test_bad_input_family_is_one_line_exit_2_and_touches_nothing(workspace, name, monkeypatch):
    script, args, word = FAMILY[name]
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("GENLAB_TEST_SECRET", SECRET)  # the workspace run's saved config refers to it
    before = tree_checksums(workspace)
    done = call_script(script, *args)
    code, err = done.returncode, done.stderr
    lines = err.strip().splitlines()
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


@pytest.mark.slow
def test_values_from_the_environment_reach_wandb_fields_as_references(tmp_path, data_dir):
    ref = "${oc.env:GENLAB_TEST_SECRET}"
    few = with_args(FAST, "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                    "trainer.limit_test_batches=0")
    done = run_script("train.py", *AE, *few, "run_dir=run", "logger.mode=offline", f"logger.notes={ref}",
                      f"logger.name={ref}", f"logger.group={ref}", f"logger.tags=['{ref}']", cwd=tmp_path,
                      env={"GENLAB_TEST_SECRET": SECRET})
    assert done.returncode == 0, done.stderr[-2000:]
    files = [p for p in (tmp_path / "run" / "wandb").rglob("*") if p.is_file()]
    assert files and not [p for p in files if SECRET.encode() in p.read_bytes()]
