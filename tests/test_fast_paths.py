"""The fast-path switches (model.channels_last, model.compile, trainer.precision) give the default path's
outputs to tolerance: a forward pass, and the weights after one real Trainer step from the same seed."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from genlab.core.steps import logging_step
from genlab.runner.config import compose
from genlab.runner.run.build import build_datamodule, build_model, trainer_kwargs
from tests.helpers import FAST, quiet_trainer, with_args

TINY_MODELS = {
    "conv_ae": ["experiment=conv_ae_mnist", "model.channels=4", "model.latent_dim=4"],
    "dcgan_sn": ["experiment=gan_mnist", "model.ngf=4", "model.ndf=4", "model.spectral_norm=true",
                 "model.ema_decay=0.9"],
}
SWITCHES = {
    "channels_last": (["model.channels_last=true"], 1e-5),
    "compile": (["model.compile=true"], 1e-4),
    "bf16-mixed": (["trainer.precision=bf16-mixed"], 5e-2),
}


def _probe(model: pl.LightningModule, generator: torch.Generator) -> torch.Tensor:
    """A deterministic forward pass of the model's main network(s), in eval mode."""
    model.eval()
    with torch.no_grad():
        if hasattr(model, "generate"):
            return model.generate(torch.randn(8, model.cfg.latent_dim, generator=generator))
        x = torch.rand(8, *model.data_info.image_shape, generator=generator)
        return model(x)


def _one_step(overrides: list[str], tmp_path) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward output before training and all weights after one training batch, from seed 0."""
    cfg = compose([*overrides, *with_args(FAST, "trainer.limit_val_batches=0"), "max_batches=1",
                   "trainer.enable_model_summary=false", "data.batch_size=16", "seed=0"])
    pl.seed_everything(0, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    model.configure_model()
    before = _probe(model, torch.Generator().manual_seed(1)).float()
    model.train()
    pl.seed_everything(0, verbose=False)
    trainer = quiet_trainer(default_root_dir=tmp_path, **trainer_kwargs(cfg, model))
    trainer.fit(model, datamodule=datamodule)
    assert logging_step(trainer) == 1
    weights = torch.cat([p.detach().float().flatten() for p in model.parameters()])
    return before, weights


# compile costs about a minute of CPU per model: it runs on the GAN only (manual optimization, two networks)
CASES = [(m, s) for m in TINY_MODELS for s in SWITCHES if not (s == "compile" and m == "conv_ae")]


@pytest.mark.slow
@pytest.mark.parametrize(("model_name", "switch"), CASES)
def test_fast_path_matches_default(model_name, switch, tmp_path):
    extra, tol = SWITCHES[switch]
    ref_out, ref_weights = _one_step(TINY_MODELS[model_name], tmp_path / "default")
    out, weights = _one_step([*TINY_MODELS[model_name], *extra], tmp_path / switch)
    assert torch.allclose(out, ref_out, atol=tol, rtol=tol), (out - ref_out).abs().max()
    # after one Adam step every weight moved by about lr; the switched path moved them the same way
    assert not torch.equal(weights, ref_weights) or switch == "channels_last"
    assert torch.allclose(weights, ref_weights, atol=tol, rtol=tol), (weights - ref_weights).abs().max()


@pytest.mark.parametrize(("r1_gamma", "eager"), [(0.1, {"discriminator"}), (0.0, set())])
def test_r1_leaves_the_discriminator_out_of_compile(r1_gamma, eager):
    # torch.compile has no double backward, which R1's gradient penalty takes through D
    cfg = compose([*TINY_MODELS["dcgan_sn"], "model.compile=true", f"model.r1_gamma={r1_gamma}"])
    model = build_model(cfg, build_datamodule(cfg))
    compiled = {name for name, child in model.named_children() if child in model.compilable_networks()}
    assert {"generator", "discriminator"} - compiled == eager and "generator" in compiled

