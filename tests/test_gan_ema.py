"""The generator's moving average: updated by training, sampled from, and kept through a checkpoint (real
Trainer, real checkpoint file, resume)."""

from __future__ import annotations

import pytest
import torch

from genlab.core.saved import read_checkpoint_config
from genlab.core.steps import logging_step
from genlab.runner.config import compose, compose_from_saved
from genlab.runner.run.build import build_datamodule, build_model
from genlab.runner.run.train import train
from lightning_modules.gan import ema_decay_at, standing_statistics_
from tests.helpers import FAST, with_args

TINY_EMA_GAN = ["experiment=gan_mnist", "model.ngf=4", "model.ndf=4", "data.batch_size=16", "model.ema_decay=0.5",
                "model.spectral_norm=true", "model.loss=hinge", "model.lr_d=4e-4", "trainer.limit_val_batches=0",
                "trainer.limit_test_batches=0", "logger.mode=disabled", "callbacks.images=[]", "callbacks.monitor=null"]


def flat(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([t.detach().flatten().clone() for t in net.state_dict().values() if t.is_floating_point()])


@pytest.mark.slow
def test_ema_weights_survive_a_checkpoint_round_trip(tmp_path):
    run_dir = tmp_path / "run"
    result = train(compose([*with_args(FAST, *TINY_EMA_GAN), "max_batches=3", f"run_dir={run_dir}"]))
    model = result.model
    ema, live = flat(model.generator_ema.module), flat(model.generator)
    assert model.generator_ema.n_averaged.item() == 3  # one update per batch
    assert not torch.allclose(ema, live)  # decay 0.5 over 3 steps lags the trained weights
    assert model.optimizers()[1].param_groups[0]["lr"] == 4e-4  # two timescales: D's own rate

    ckpt = run_dir / "checkpoints" / "last.ckpt"
    # rebuilt from the checkpoint's own config, as scripts/evaluate.py does
    cfg = compose_from_saved(read_checkpoint_config(ckpt), [])
    loaded = build_model(cfg, build_datamodule(cfg))
    loaded.load_state_dict(torch.load(ckpt, weights_only=False)["state_dict"])
    assert torch.equal(flat(loaded.generator_ema.module), ema)
    assert torch.equal(flat(loaded.generator), live)
    # sampling uses the average
    z = torch.randn(4, model.cfg.latent_dim)
    loaded.eval()
    with torch.no_grad():
        assert torch.allclose(loaded.generate(z), loaded.output_activation(loaded.generator_ema.module(z)))
        assert not torch.allclose(loaded.generate(z), loaded.output_activation(loaded.generator(z)))

    # resuming continues the same average: two more batches make five updates
    resume = [f"ckpt={ckpt}", "max_batches=5", "trainer.max_epochs=3"]
    resumed = train(compose_from_saved(read_checkpoint_config(ckpt), resume))
    assert logging_step(resumed.trainer) == 5
    assert resumed.model.generator_ema.n_averaged.item() == 5


def test_ema_decay_ramps_up_to_the_configured_decay():
    n = torch.tensor([0, 1, 8, 990, 100_000])
    expected = torch.tensor([1 / 10, 2 / 11, 9 / 18, 991 / 1000, 0.999])
    assert torch.allclose(ema_decay_at(0.999, n), expected)


def test_standing_statistics_are_the_plain_average_over_the_batches():
    norm = torch.nn.BatchNorm1d(2, momentum=0.3)
    net = torch.nn.Sequential(norm).eval()
    batches = [torch.tensor([[0.0, 0.0], [2.0, 2.0]]), torch.tensor([[4.0, 4.0], [4.0, 4.0]])]
    standing_statistics_(net, iter(batches))
    # batch means 1 and 4, unbiased batch variances 2 and 0
    assert torch.allclose(norm.running_mean, torch.tensor([2.5, 2.5]))
    assert torch.allclose(norm.running_var, torch.tensor([1.0, 1.0]))
    assert norm.momentum == 0.3 and not net.training
