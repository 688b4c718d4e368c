"""The GAN trained for real (tiny networks, a few MNIST batches): alternating updates, counters in batches,
diagnostics and pictures in the offline W&B run, checkpointed fixed noise, bf16 autocast, evaluation."""

from __future__ import annotations

import json
import math

import pytest
import pytorch_lightning as pl
import torch

from genlab.core.errors import ConfigError
from genlab.core.saved import read_checkpoint_config
from genlab.core.steps import logging_step
from genlab.runner.config import compose, compose_from_saved
from genlab.runner.run.build import build_datamodule, build_model, build_trainer
from genlab.runner.run.prepare import prepare
from genlab.runner.run.train import train
from tests.helpers import FAST, call_script, with_args
from tests.wandb_offline import read_offline_run

TINY_DCGAN = ["experiment=gan_mnist", "model.ngf=8", "model.ndf=8", "data.batch_size=32"]
TEST_METRICS = ("test/fid", "test/kid", "test/classifier_is", "test/class_coverage", "test/class_kl", "test/fid_floor")


def flat(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in net.parameters()])


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_classifier):
    """Two discriminator steps per batch, 3 batches an epoch, stopped by max_batches=5 in epoch 2."""
    run_dir = tmp_path_factory.mktemp("gan") / "run"
    cfg = compose([*TINY_DCGAN, *with_args(FAST, "trainer.max_epochs=4", "trainer.limit_train_batches=3",
                                            "trainer.limit_test_batches=0"), "model.d_steps=2", "max_batches=5",
                   f"eval.classifier_ckpt={tiny_classifier}", "seed=3", f"run_dir={run_dir}"])
    result = train(cfg)
    return cfg, result


@pytest.mark.slow
def test_max_batches_logging_and_wandb_axis_count_batches(run):
    cfg, result = run
    trainer = result.trainer
    assert logging_step(trainer) == 5
    assert trainer.global_step == 5 * (1 + cfg.model.d_steps)  # Lightning's count: every optimizer step
    history = read_offline_run(result.run_dir)
    # log_every_n_steps=1: one row of training diagnostics per batch, at batch numbers 0..4
    assert [row["trainer/global_step"] for row in history.history if "train/g_loss" in row] == list(range(5))
    grid_steps = [row["trainer/global_step"] for row in history.history if "images/fixed_noise/_type" in row]
    assert grid_steps[0] == 3  # after the first epoch's 3 batches


@pytest.mark.slow
def test_run_logs_diagnostics_and_pictures(run):
    _, result = run
    history = read_offline_run(result.run_dir)
    for key in ("train/g_loss", "train/d_loss", "train/g_grad_norm", "train/d_grad_norm", "val/fid",
                "val/class_coverage", "val/class_kl", "val/classifier_is"):
        values = history.values(key)
        assert values and all(math.isfinite(v) for v in values), key
    for key in ("train/D_x", "train/D_G_z"):
        assert history.values(key) and all(0 <= v <= 1 for v in history.values(key)), key
    names = [f.name for f in history.files]
    assert any(n.startswith("fixed_noise") for n in names) and any(n.startswith("interpolation") for n in names)
    assert sorted(p.name for p in (result.run_dir / "images").iterdir())[:2] == [
        "images_fixed_noise_step0000003.png", "images_fixed_noise_step0000005.png"]


@pytest.mark.slow
def test_training_updates_both_networks(run):
    cfg, result = run
    pl.seed_everything(cfg.seed, workers=True, verbose=False)  # as train() did before building
    initial = build_model(cfg, build_datamodule(cfg))
    assert not torch.equal(flat(initial.generator), flat(result.model.generator))
    assert not torch.equal(flat(initial.discriminator), flat(result.model.discriminator))


@pytest.mark.slow
def test_fixed_noise_survives_a_checkpoint_round_trip(run):
    cfg, result = run
    ckpt = torch.load(result.run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    pl.seed_everything(cfg.seed + 1, verbose=False)
    fresh = build_model(cfg, build_datamodule(cfg))
    assert not torch.equal(fresh.fixed_noise, result.model.fixed_noise)
    fresh.load_state_dict(ckpt["state_dict"])
    assert torch.equal(fresh.fixed_noise, result.model.fixed_noise)


def adam_steps(optimizer_state: dict) -> int:
    return int(next(iter(optimizer_state["state"].values()))["step"])


@pytest.mark.slow
def test_resume_continues_optimizers_and_stops_at_max_batches(run, tmp_path):
    cfg, result = run
    ckpt = result.run_dir / "checkpoints" / "last.ckpt"  # the latest state: max_batches stopped at 5 batches
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert [adam_steps(s) for s in saved["optimizer_states"]] == [5, 5 * cfg.model.d_steps]
    resumed_cfg = compose_from_saved(read_checkpoint_config(ckpt), [
        f"ckpt={ckpt}", "max_batches=7", f"run_dir={tmp_path / 'resumed'}", "logger.mode=disabled"])
    resumed = train(resumed_cfg).trainer
    # 2 more batches: G's Adam continues from 5 steps to 7, D's from 10 to 14
    assert [adam_steps(o.state_dict()) for o in resumed.optimizers] == [7, 7 * cfg.model.d_steps]
    assert resumed.global_step == 7 * (1 + cfg.model.d_steps)


class StepProbe(pl.Callback):
    """Snapshots both networks when each optimizer is about to step and when the batch ends."""

    def __init__(self):
        self.events: list[dict] = []

    def _snap(self, label, module, **extra):
        self.events.append({"label": label, "G": flat(module.generator), "D": flat(module.discriminator), **extra})

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._snap("start", module)

    def on_before_optimizer_step(self, trainer, module, optimizer):
        label = "g" if optimizer is trainer.optimizers[0] else "d"
        other = module.discriminator if label == "g" else module.generator
        self._snap(label, module, other_grads=[p.grad for p in other.parameters()],
                   other_requires_grad=[p.requires_grad for p in other.parameters()])

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self._snap("end", module)


def test_generator_step_leaves_d_alone_and_discriminator_step_leaves_g_alone(tmp_path, tiny_classifier):
    cfg = compose([*TINY_DCGAN, *with_args(FAST, "trainer.limit_val_batches=0"), "max_batches=2",
                   f"eval.classifier_ckpt={tiny_classifier}"])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    prepare(cfg, model)
    probe = StepProbe()
    build_trainer(cfg, tmp_path, None, [probe], model).fit(model, datamodule=datamodule)
    labels = [e["label"] for e in probe.events]
    assert labels == ["start", "g", "d", "end"] * 2
    for start, g, d, end in zip(*[iter(probe.events)] * 4, strict=True):
        # G's backward gave D no gradient (D was toggled off); G's step changed G only
        assert all(grad is None for grad in g["other_grads"]) and not any(g["other_requires_grad"])
        assert torch.equal(start["D"], d["D"]) and not torch.equal(g["G"], d["G"])
        # D trained on detached samples: no gradient reached G, and D's step changed D only
        assert all(grad is None for grad in d["other_grads"]) and not any(d["other_requires_grad"])
        assert torch.equal(d["G"], end["G"]) and not torch.equal(d["D"], end["D"])


@pytest.mark.slow
def test_bf16_mixed_precision_mlp_gan_steps_on_cpu(tmp_path, tiny_classifier):
    cfg = compose(["experiment=mlp_gan_mnist",
                   *with_args(FAST, "trainer.limit_val_batches=0", "trainer.limit_test_batches=0"),
                   "model.g_hidden=[32,64]", "model.d_hidden=[64,32]", "model.loss=hinge", "data.batch_size=32",
                   "trainer.precision=bf16-mixed", "max_batches=3", "logger.mode=disabled",
                   f"eval.classifier_ckpt={tiny_classifier}", f"run_dir={tmp_path}"])
    trainer = train(cfg).trainer
    assert trainer.precision == "bf16-mixed" and logging_step(trainer) == 3
    for key in ("train/g_loss", "train/d_loss", "train/D_x", "train/D_G_z"):
        assert math.isfinite(float(trainer.callback_metrics[key])), key


@pytest.mark.slow
def test_evaluate_writes_every_metric(run, cli, tiny_classifier):
    _, result = run
    done = call_script("evaluate.py", f"ckpt={result.run_dir / 'checkpoints' / 'last.ckpt'}", "eval.num_samples=64",
               "trainer.limit_test_batches=2", f"eval.classifier_ckpt={tiny_classifier}")
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert set(TEST_METRICS) <= set(metrics)
    assert all(isinstance(metrics[k], float) and math.isfinite(metrics[k]) for k in TEST_METRICS)
    assert 1 <= metrics["test/class_coverage"] <= 10 and 0 <= metrics["test/class_kl"] <= math.log(10) + 1e-6
    assert 1 <= metrics["test/classifier_is"] <= 10 and metrics["test/fid_floor"] < metrics["test/fid"]


@pytest.mark.slow
def test_bad_gan_options_are_one_line_errors(cli, run):
    done = cli("train.py", "experiment=gan_mnist", "model.loss=wasserstein")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "model.loss='wasserstein': must be one of minimax, non_saturating, lsgan, hinge" in done.stderr
    _, result = run
    saved = read_checkpoint_config(result.run_dir / "checkpoints" / "last.ckpt")
    with pytest.raises(ConfigError, match="eval.num_samples=0: must be >= 2"):  # as scripts/evaluate.py composes
        compose_from_saved(saved, ["eval.num_samples=0"])
    with pytest.raises(ConfigError, match="model.latent_dim=0: must be >= 1"):
        compose(["experiment=gan_mnist", "model.latent_dim=0"])
