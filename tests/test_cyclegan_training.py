"""The CycleGAN module under a real Lightning Trainer on real monet2photo images (tiny networks)."""

import pytest
import pytorch_lightning as pl
import torch

from genlab.runner.run.build import build_datamodule, build_model
from lightning_modules.cyclegan import per_image_l1
from lightning_modules.lr_policy import linear_decay_factor
from tests.helpers import quiet_trainer
from tests.helpers import tiny_cyclegan_cfg as tiny_cfg

NETS = ("G_A", "G_B", "D_A", "D_B")


def snapshot(model) -> dict[str, list[torch.Tensor]]:
    return {name: [p.detach().clone() for p in getattr(model, name).parameters()] for name in NETS}


def changed(before, after, name) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before[name], after[name], strict=True))


class StepRecorder(pl.Callback):
    """Snapshots the four networks around every optimizer step (torch's own step hooks)."""

    def __init__(self):
        self.events: list[tuple[str, str, dict]] = []

    def on_train_start(self, trainer, pl_module):
        for label, optimizer in zip(("generators", "discriminators"), trainer.optimizers, strict=True):
            optimizer.register_step_pre_hook(lambda *_, label=label: self.events.append(
                (label, "before", snapshot(pl_module))))
            optimizer.register_step_post_hook(lambda *_, label=label: self.events.append(
                (label, "after", snapshot(pl_module))))


def fit(cfg, model=None, ckpt_path=None, callbacks=(), **kwargs):
    datamodule = build_datamodule(cfg)
    model = model or build_model(cfg, datamodule)
    trainer = quiet_trainer(callbacks=list(callbacks), **kwargs)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    return trainer, model, datamodule


def test_one_step_trains_generators_first_then_discriminators():
    pl.seed_everything(0)
    recorder = StepRecorder()
    _, model, _ = fit(tiny_cfg(), callbacks=[recorder], max_epochs=1, limit_train_batches=1)
    assert [(label, when) for label, when, _ in recorder.events] == [
        ("generators", "before"), ("generators", "after"), ("discriminators", "before"), ("discriminators", "after")]
    (_, _, g0), (_, _, g1), (_, _, d0), (_, _, d1) = recorder.events
    assert changed(g0, g1, "G_A") and changed(g0, g1, "G_B")
    assert not changed(g0, g1, "D_A") and not changed(g0, g1, "D_B")  # the generators' step froze them
    assert changed(d0, d1, "D_A") and changed(d0, d1, "D_B")
    assert not changed(d0, d1, "G_A") and not changed(d0, d1, "G_B")  # fakes were detached for D
    assert len(model.fake_A_pool) == len(model.fake_B_pool) == 1
    assert all(p.requires_grad for p in model.parameters())  # untoggled again


def test_lr_decays_per_epoch_and_a_checkpoint_restores_pools_optimizers_and_scheduler(tmp_path):
    cfg = tiny_cfg("model.pool_size=2", "model.n_epochs=1", "model.n_epochs_decay=2")
    lrs = []
    record_lr = pl.Callback()
    record_lr.on_train_epoch_start = lambda trainer, module: lrs.append(
        [group["lr"] for opt in trainer.optimizers for group in opt.param_groups])
    pl.seed_everything(0)
    trainer, model, _ = fit(cfg, callbacks=[record_lr], max_epochs=3, limit_train_batches=2)
    base = cfg.model.lr
    assert lrs == [[pytest.approx(base * linear_decay_factor(e, 1, 2))] * 2 for e in range(3)]
    assert len(model.fake_A_pool) == 2  # full: later queries went through the swap branch
    ckpt = tmp_path / "run.ckpt"
    trainer.save_checkpoint(ckpt)

    pl.seed_everything(1)  # a fresh model with other weights and other pool seeds
    restored_trainer, restored, _ = fit(cfg, ckpt_path=str(ckpt), max_epochs=3, limit_train_batches=2)
    for name in ("fake_A_pool", "fake_B_pool"):
        saved, loaded = getattr(model, name), getattr(restored, name)
        assert len(loaded) == len(saved) and all(map(torch.equal, saved.images, loaded.images))
        assert torch.equal(saved.generator.get_state(), loaded.generator.get_state())
    for saved, loaded in zip(trainer.optimizers, restored_trainer.optimizers, strict=True):
        s, r = saved.state_dict()["state"], loaded.state_dict()["state"]
        assert s.keys() == r.keys() and all(torch.equal(s[k]["exp_avg_sq"], r[k]["exp_avg_sq"]) for k in s)
    assert [c.scheduler.last_epoch for c in restored_trainer.lr_scheduler_configs] == [3, 3]
    assert restored_trainer.current_epoch == trainer.current_epoch
    assert not any(changed(snapshot(model), snapshot(restored), name) for name in NETS)


def test_test_metrics_count_every_test_image_once():
    pl.seed_everything(0)
    cfg = tiny_cfg("data.test_batch_size=8")
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    trainer = quiet_trainer()
    metrics = trainer.test(model, datamodule=datamodule, verbose=False)[0]
    expected = {"cycle_l1_A": [], "idt_l1_B": [], "cycle_l1_B": [], "idt_l1_A": []}
    with torch.no_grad():
        for x in (datamodule.test_set[i]["A"] for i in range(len(datamodule.test_set.paths_a))):
            x = x[None]
            expected["cycle_l1_A"].append(per_image_l1(model.G_B(model.G_A(x)), x))
            expected["idt_l1_B"].append(per_image_l1(model.G_B(x), x))
        for y in (datamodule.test_set[i]["B"] for i in range(len(datamodule.test_set.paths_b))):
            y = y[None]
            expected["cycle_l1_B"].append(per_image_l1(model.G_A(model.G_B(y)), y))
            expected["idt_l1_A"].append(per_image_l1(model.G_A(y), y))
    for name, values in expected.items():
        assert metrics[f"test/{name}"] == pytest.approx(torch.cat(values).mean().item(), rel=1e-5)
    for key in ("kid_AtoB", "kid_BtoA", "fid_AtoB", "fid_BtoA", "mifid_AtoB"):
        assert f"test/{key}" in metrics


def test_without_a_pool_the_discriminators_train_on_detached_fakes():
    pl.seed_everything(0)
    recorder = StepRecorder()
    _, model, _ = fit(tiny_cfg("model.pool_size=0"), callbacks=[recorder], max_epochs=1, limit_train_batches=2)
    (_, _, before), (_, _, after) = [e for e in recorder.events if e[0] == "discriminators"][-2:]
    assert changed(before, after, "D_A") and not changed(before, after, "G_A")
