"""A new user's first runs, on a machine where nothing was prepared: every experiment from an empty cache and
HOME (the Monet ones also tested, loaded and sampled), short runs that still show training curves, a quiet console
off a terminal, and help that shows the values a run will use."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

import genlab
from genlab.runner.config.load import list_experiments
from tests.helpers import FAST, TINY_CLASSIFIER_ARGS, call_script, fresh_machine, last_logged, run_script, with_args
from tests.wandb_offline import read_offline_run

# tiny limits for every experiment; the CycleGAN's crops and the Monet experiments' nets are shrunk (the Monet
# data stays at its default 64 px), the rest run at their defaults
TINY_RUN = [*with_args(FAST, "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
                      "trainer.limit_test_batches=1", "trainer.log_every_n_steps=50"),
            "eval.num_samples=32", "eval.iw_samples=4", *TINY_CLASSIFIER_ARGS]
CYCLEGAN = ["data.load_size=36", "data.crop_size=32", "model.ngf=8", "model.ndf=8", "model.n_blocks=1",
            "data.num_workers=0"]
SHRINK = {"cyclegan_monet": CYCLEGAN, "cyclegan_monet_small": CYCLEGAN,
          "ae_monet": ["model.channels=8", "model.latent_dim=8", "data.batch_size=8"],
          "vae_monet": ["model.channels=8", "model.latent_dim=8", "data.batch_size=8"],
          "gan_monet": ["model.ngf=8", "model.ndf=8", "data.batch_size=8"]}
# what each Monet experiment's test step logs
MONET_TEST_KEYS = {"ae_monet": {"test/loss", "test/mse"}, "vae_monet": {"test/nll_iw", "test/bpd", "test/neg_elbo"},
                   "gan_monet": {"test/fid", "test/kid", "test/mifid", "test/fid_floor", "test/kid_floor"}}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, data_dir):
    """experiment -> (folder, finished process): the experiment's first run through the real script, from an
    empty cache and a HOME without W&B credentials (``folder/run``, ``folder/cache``), made once for the tests
    that read it."""
    runs = {}

    def run(experiment: str):
        if experiment not in runs:
            tmp = tmp_path_factory.mktemp(experiment)
            done = run_script("train.py", f"experiment={experiment}", *TINY_RUN, *SHRINK.get(experiment, []),
                              f"run_dir={tmp / 'run'}", env=fresh_machine(tmp))
            runs[experiment] = (tmp, done)
        return runs[experiment]
    return run


@pytest.mark.slow
@pytest.mark.parametrize("experiment", list_experiments())
def test_every_experiment_runs_from_an_empty_cache_and_home(first_run, experiment):
    tmp, done = first_run(experiment)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp / "run" / "checkpoints" / "last.ckpt").is_file()
    assert "no W&B credentials" in done.stderr
    history = read_offline_run(tmp / "run")
    assert any(k.startswith("train/") and k.endswith("_epoch") for k in history.keys())  # a curve, 2 batches
    if experiment.endswith("gan_mnist"):  # trained through the real path into the empty cache
        assert "genlab: training the MNIST classifier" in done.stderr
        assert list((tmp / "cache").glob("mnist_classifier-*.pt"))
        assert history.values("val/fid")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MONET_TEST_KEYS))
def test_every_monet_experiment_tests_and_draws_from_its_first_run(first_run, name):
    tmp, done = first_run(name)
    run_dir = tmp / "run"
    assert done.returncode == 0, done.stderr[-3000:]
    assert "255 train, 15 val, 30 test (64 px, 3 channel(s))" in done.stderr
    logged = last_logged(run_dir)
    assert MONET_TEST_KEYS[name] <= set(logged), sorted(logged)
    assert all(np.isfinite(logged[k]) for k in MONET_TEST_KEYS[name])
    assert list((run_dir / "images").glob("*.png"))
    if name == "gan_monet":
        assert {"val/fid"} <= set(logged) and not any(k.startswith(("val/class", "test/class")) for k in logged)
        if "no Inception installed" in done.stderr:  # the note, once, on one line
            assert done.stderr.count("no Inception installed") == 1
            assert "make install-inception" in done.stderr
    if name == "vae_monet":  # a density on [-1, 1]: bpd = (nll + D log 128) / (D ln 2), D = 3 * 64 * 64
        d = 3 * 64 * 64
        assert logged["test/bpd"] == pytest.approx((logged["test/nll_iw"] + d * np.log(128)) / (d * np.log(2)),
                                                   rel=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MONET_TEST_KEYS))
def test_monet_checkpoints_load_and_sample(first_run, name, tmp_path):
    tmp, done = first_run(name)
    assert done.returncode == 0, done.stderr[-3000:]
    ckpt = tmp / "run" / "checkpoints" / "last.ckpt"
    model, cfg = genlab.load(ckpt)
    assert cfg.experiment == name and model.data_info.image_shape == (3, 64, 64)
    out = tmp_path / "samples.png"
    done = call_script("sample.py", f"ckpt={ckpt}", "n=4", "seed=0", f"out={out}")
    assert done.returncode == 0, done.stderr[-3000:]
    with Image.open(out) as image:
        assert image.mode == "RGB" and image.width >= 2 * 64


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
