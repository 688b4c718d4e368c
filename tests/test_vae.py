"""The VAE end to end with real parts: MNIST from the shared folder, a real Trainer, the real CLI scripts,
and the offline W&B run read back from disk."""

from __future__ import annotations

import json
import statistics

import pytest
import pytorch_lightning as pl
import torch

from genlab.core.errors import ConfigError
from genlab.core.saved import read_checkpoint_config
from genlab.runner.config import compose, compose_from_saved
from genlab.runner.run.build import build_datamodule, build_model
from genlab.runner.run.evaluate import evaluate
from genlab.runner.run.train import train
from tests.helpers import FAST, call_script, quiet_trainer, run_script, with_args
from tests.wandb_offline import read_offline_run

TERMS = ("neg_elbo", "recon", "kl")
SMALL = ["model.hidden=[128]"]  # these tests are not about the official network size
PICTURES = ("reconstructions", "fixed_noise", "interpolation", "code_interpolation", "latent_scatter",
            "latent_manifold")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, data_dir):
    """A short real run of the vae_mnist experiment with a 2-D latent (so every picture is drawn)."""
    run_dir = tmp_path_factory.mktemp("vae") / "run"
    done = run_script("train.py", "experiment=vae_mnist", *with_args(FAST, "trainer.limit_train_batches=40"), *SMALL,
                      "model.latent_dim=2", "eval.iw_samples=20", f"run_dir={run_dir}")
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


@pytest.mark.slow
def test_training_logs_the_three_terms_and_the_pictures(trained_run):
    logged = read_offline_run(trained_run)
    for stage in ("train", "val"):
        for term in TERMS:
            assert logged.values(f"{stage}/{term}"), f"{stage}/{term} not logged"
    for row in logged.history:  # -ELBO is the sum of its two terms, logged from the same step
        if "val/neg_elbo" in row:
            assert row["val/neg_elbo"] == pytest.approx(row["val/recon"] + row["val/kl"], rel=1e-5)
    train_elbo = logged.values("train/neg_elbo")
    assert train_elbo[-1] < train_elbo[0]
    for picture in PICTURES:
        assert any(k.startswith(f"images/{picture}/") for k in logged.keys()), f"images/{picture} not logged"
    assert len(logged.files) >= len(PICTURES)
    assert (trained_run / "images").is_dir()


@pytest.mark.slow
def test_evaluate_writes_elbo_iw_likelihood_and_active_units(trained_run, cli):
    ckpt = trained_run / "checkpoints" / "last.ckpt"
    done = call_script("evaluate.py", f"ckpt={ckpt}", "eval.iw_samples=100", "eval.iw_chunk=30")
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert {"test/neg_elbo", "test/nll_iw", "test/active_units"} <= set(metrics)
    assert 0 < metrics["test/nll_iw"] <= metrics["test/neg_elbo"]  # log p(x) >= IW bound >= ELBO
    assert metrics["test/neg_elbo"] == pytest.approx(metrics["test/recon"] + metrics["test/kl"], rel=1e-5)
    assert metrics["test/active_units"] in (0, 1, 2)
    assert metrics["test/iw_samples"] == 100  # the k behind test/nll_iw is part of the record
    # seeded samples on a fixed binarization: evaluating again gives the same numbers
    again = evaluate(ckpt, ["eval.iw_samples=100", "eval.iw_chunk=30"])
    assert again == pytest.approx(metrics, rel=1e-6)


@pytest.mark.slow
def test_fixed_noise_is_restored_from_the_checkpoint_on_resume(trained_run, tmp_path):
    # a copy of the run's checkpoint whose fixed noise is not the one this seed draws (a resume may not change the
    # seed: the checkpoint restores the random streams and the data order)
    checkpoint = torch.load(trained_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    saved_z = -checkpoint["state_dict"]["fixed_noise"]
    checkpoint["state_dict"]["fixed_noise"] = saved_z
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir()
    torch.save(checkpoint, ckpt)
    cfg = compose_from_saved(read_checkpoint_config(ckpt), [
        f"ckpt={ckpt}", "trainer.max_epochs=2", "trainer.limit_test_batches=0",
        "logger.mode=disabled", "callbacks.images=[fixed_noise_grid]"])
    pl.seed_everything(cfg.seed, workers=True, verbose=False)  # as train() does before building
    fresh = build_model(cfg, build_datamodule(cfg))
    assert not torch.equal(fresh.fixed_noise, saved_z)  # the model draws another z ...
    result = train(cfg)
    assert result.trainer.current_epoch == 2 and result.run_dir == tmp_path
    torch.testing.assert_close(result.model.fixed_noise, saved_z)  # ... but the checkpoint's wins


def test_iwae_objective_is_tighter_than_the_elbo(data_dir):
    cfg = compose(["experiment=vae_mnist", *SMALL, "model.iw_train_samples=5"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    quiet_trainer(max_epochs=1, limit_train_batches=20, limit_val_batches=0).fit(model, datamodule=datamodule)
    x, _ = next(iter(datamodule.val_dataloader()))
    with torch.no_grad():
        runs = [model.loss_terms(x, 1.0) for _ in range(10)]
    iw_bound = statistics.mean(r["loss"].item() for r in runs)
    neg_elbo = statistics.mean(r["neg_elbo"].item() for r in runs)
    assert iw_bound < neg_elbo


@pytest.mark.slow
def test_conv_gaussian_vae_with_kl_warmup_learns_its_std(tmp_path, data_dir):
    cfg = compose(["experiment=conv_vae_mnist", *with_args(FAST, "trainer.limit_test_batches=0"), "model.channels=8",
                   "data.binarize=none", "model.likelihood=gaussian", "model.kl_warmup_steps=4",
                   "callbacks.images=[fixed_noise_grid]", f"run_dir={tmp_path}"])
    result = train(cfg)
    logged = read_offline_run(tmp_path)
    assert logged.values("train/kl_weight") == [min(1.0, step / 4) for step in range(8)]
    stds = logged.values("train/std")
    assert stds[0] == pytest.approx(1.0, abs=0.01) and stds[-1] < stds[0]
    assert result.model.sample(3).shape == (3, 1, 28, 28)
    assert any(k.startswith("images/fixed_noise/") for k in logged.keys())


@pytest.mark.parametrize(("override", "message"), [
    ("model.latent_dim=0", "model.latent_dim=0: must be >= 1"),
    ("eval.iw_samples=0", "eval.iw_samples=0: must be >= 1"),
    ("data.binarize=sometimes", "data.binarize='sometimes': must be one of none, dynamic, static"),
])
def test_bad_config_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        compose(["experiment=vae_mnist", override])


def test_bernoulli_likelihood_refuses_data_outside_0_1(data_dir):
    cfg = compose(["experiment=vae_mnist", "data.binarize=none", "data.value_range=[-1,1]"])
    with pytest.raises(ConfigError, match="model.likelihood=bernoulli needs pixels in"):
        build_model(cfg, build_datamodule(cfg))


@pytest.mark.slow
def test_scripts_exit_nonzero_with_one_line(trained_run, cli):
    done = cli("train.py", "experiment=vae_mnist", "model.latent_dim=0")
    assert done.returncode != 0 and done.stderr.strip().splitlines() == ["error: model.latent_dim=0: must be >= 1 "
                                                                        "(the number of latent dims)"]
    done = call_script("evaluate.py", f"ckpt={trained_run / 'checkpoints' / 'last.ckpt'}", "eval.iw_samples=0")
    assert done.returncode != 0 and "eval.iw_samples=0: must be >= 1" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
