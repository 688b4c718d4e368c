"""A new user's first runs, on a machine where nothing was prepared: every experiment from an empty cache and
HOME, short runs that still show training curves, a quiet console off a terminal, and help that shows the
values a run will use."""

from __future__ import annotations

import pytest
import yaml

from genlab.runner.config.load import list_experiments
from tests.helpers import FAST, TINY_CLASSIFIER_ARGS, fresh_machine, run_script, with_args
from tests.wandb_offline import read_offline_run

# tiny limits for every experiment; the CycleGAN's crops and nets are shrunk, the rest run at their defaults
TINY_RUN = [*with_args(FAST, "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                      "trainer.limit_test_batches=1", "trainer.log_every_n_steps=50"),
            "eval.num_samples=32", "eval.iw_samples=4", *TINY_CLASSIFIER_ARGS]
SHRINK = {"cyclegan": ["data.load_size=36", "data.crop_size=32", "model.ngf=8", "model.ndf=8", "model.n_blocks=1",
                       "data.num_workers=0"]}


@pytest.mark.slow
@pytest.mark.parametrize("experiment", list_experiments())
def test_every_experiment_runs_from_an_empty_cache_and_home(cli, tmp_path, data_dir, experiment):
    env = fresh_machine(tmp_path)
    shrink = SHRINK["cyclegan"] if experiment.startswith("cyclegan") else []
    done = cli("train.py", f"experiment={experiment}", *TINY_RUN, *shrink, f"run_dir={tmp_path / 'run'}", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
    assert "no W&B credentials" in done.stderr
    history = read_offline_run(tmp_path / "run")
    assert any(k.startswith("train/") and k.endswith("_epoch") for k in history.keys())  # a curve, 2 batches
    if experiment.endswith("gan_mnist"):  # trained through the real path into the empty cache
        assert "genlab: training the MNIST classifier" in done.stderr
        assert list((tmp_path / "cache").glob("mnist_classifier-*.pt"))
        assert history.values("val/fid")


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, data_dir):
    """40 batches an epoch with log_every_n_steps=50, output to a pipe (not a terminal)."""
    tmp = tmp_path_factory.mktemp("short")
    args = [a for a in FAST if not a.startswith("trainer.enable_progress_bar")]
    done = run_script("train.py", "experiment=ae_mnist", *with_args(args, "trainer.max_epochs=2",
                      "trainer.limit_train_batches=40", "trainer.log_every_n_steps=50"), f"run_dir={tmp / 'run'}",
                      env=fresh_machine(tmp))
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "run", done


@pytest.mark.slow
def test_a_run_shorter_than_the_logging_interval_still_logs_training_curves(short_run):
    run_dir, _ = short_run
    history = read_offline_run(run_dir)
    assert len(history.values("train/loss_epoch")) == 2  # one mean per epoch


@pytest.mark.slow
def test_off_a_terminal_the_output_is_one_line_per_epoch_and_no_noise(short_run):
    _, done = short_run
    output = done.stdout + done.stderr
    epoch_lines = [line for line in done.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == ["epoch 1/2", "epoch 2/2"]
    assert "40 batches" in epoch_lines[0] and "train/loss=" in epoch_lines[0]
    assert len(output.encode()) < 5000 and output.count("\n") < 60, output
    for noise in ("Tip:", "anonymous", "LeafSpec", "it/s", "\r", "smaller than the logging interval"):
        assert noise not in output, noise


@pytest.mark.slow
def test_resuming_into_the_run_folder_does_not_warn_about_it(short_run, cli):
    run_dir, first = short_run
    args = with_args(FAST, "trainer.max_epochs=3", "trainer.limit_train_batches=2")
    done = cli("train.py", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", *args, env=fresh_machine(run_dir.parent))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "exists and is not empty" not in done.stdout + done.stderr


@pytest.mark.slow
def test_fast_dev_run_makes_no_wandb_run_and_says_nothing_about_one(cli, tmp_path, data_dir):
    done = cli("train.py", "experiment=ae_mnist", *FAST, "trainer.fast_dev_run=1", f"run_dir={tmp_path / 'run'}",
               env=fresh_machine(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "W&B" not in done.stderr and not (tmp_path / "run" / "wandb").exists()


@pytest.mark.slow
def test_help_of_an_experiment_shows_the_values_its_run_uses(cli):
    done = cli("train.py", "experiment=gan_mnist", "model.ngf=8", "--help")
    assert done.returncode == 0, done.stderr
    assert "trainer.max_epochs=12" in done.stdout and "callbacks.monitor='val/fid'" in done.stdout
    assert "model.ngf=8" in done.stdout and "data.value_range=[-1.0, 1.0]" in done.stdout
    assert "eval.classifier.epochs=3" in done.stdout
    plain = cli("train.py", "--help")
    assert plain.returncode == 0 and "experiments: " in plain.stdout and "experiment=NAME" in plain.stdout


@pytest.mark.slow
def test_cfg_prints_the_composed_config_and_runs_nothing(cli, tmp_path):
    done = cli("train.py", "experiment=mlp_gan_mnist", "trainer.max_epochs=3", f"run_dir={tmp_path / 'run'}", "--cfg")
    assert done.returncode == 0, done.stderr
    cfg = yaml.safe_load(done.stdout)
    assert cfg["experiment"] == "mlp_gan_mnist" and cfg["trainer"]["max_epochs"] == 3
    assert cfg["model"]["arch"] == "mlp" and cfg["callbacks"]["monitor"] == "val/fid"
    assert not (tmp_path / "run").exists()
