"""genlab's own cost per training step against a plain PyTorch loop; prints a markdown table.

    PYTHONPATH=. python benchmarks/overhead.py [--models ae vae gan] [--steps 300] [--warmup 30] [--repeats 3]
        [--threads 1] [--variant NAME=key=value,key=value ...] [--tiny]

For each model the same networks (built by genlab from the experiment config, same seed), the same MNIST
loader, batch size and number of steps are trained (a) by a plain loop written here (forward, loss, backward,
Adam step; the GAN toggles requires_grad like Lightning's toggled optimizers) and (b) by genlab's real path,
``genlab.runner.run.train.train(genlab.runner.config.compose([...]))`` as ``scripts/train.py`` runs it: Trainer,
checkpointing, picture callbacks, W&B offline, progress bar, all at their defaults. Validation and test are off in both
(``limit_val_batches=0``; the plain loop has none), so the comparison is of training steps.

Per-step time: wall time between the end of batch ``warmup`` and the end of the last batch, divided by the
steps in between (data loading included). genlab's batch ends are stamped by one extra callback added to the
run's own callback list (the benchmark wraps ``genlab.runner.run.train.build_callbacks``; nothing else changes). Repeats
alternate a/b. "fixed" is the rest of the call (setup, W&B start and finish, the final checkpoint, pictures).
The loss columns are the last step's loss of each, same seed: close values show the same work was timed.
``--variant`` adds genlab rows with extra overrides, to find what costs
(e.g. ``nobar=trainer.enable_progress_bar=false``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from machine import cpu_name

import genlab.runner.run.train as genlab_train
from genlab.core.optim import adam
from genlab.runner.cli import with_args
from genlab.runner.config import compose
from genlab.runner.run.build import build_datamodule, build_model
from lightning_modules.gan_losses import discriminator_loss, generator_loss
from lightning_modules.reconstruction import reconstruction_loss

EXPERIMENTS = {"ae": "ae_mnist", "vae": "vae_mnist", "gan": "gan_mnist_dcgan"}  # the DCGAN without an average of G
LOSS_KEY = {"ae": "train/loss", "vae": "train/loss", "gan": "train/g_loss"}
TINY_NETS = {"ae": ["model.hidden=[32]", "model.latent_dim=4"], "vae": ["model.hidden=[32]", "model.latent_dim=4"],
             "gan": ["model.ngf=4", "model.ndf=4"]}


class BatchEndClock(pl.Callback):
    """perf_counter() at the end of every training batch."""

    def __init__(self):
        self.stamps: list[float] = []

    def on_train_batch_end(self, *args, **kwargs) -> None:
        self.stamps.append(time.perf_counter())


def per_step(stamps: list[float], warmup: int) -> float:
    """Seconds per step after the first ``warmup`` steps, from the end-of-step stamps."""
    return (stamps[-1] - stamps[warmup - 1]) / (len(stamps) - warmup)


def config(model: str, steps: int, batch_size: int, run_dir: str, extra: list[str]):
    return compose(with_args([f"experiment={EXPERIMENTS[model]}", "trainer.accelerator=cpu", "trainer.devices=1",
                              "trainer.max_epochs=-1", f"max_batches={steps}", "trainer.limit_val_batches=0",
                              "trainer.limit_test_batches=0", "logger.mode=offline", f"data.batch_size={batch_size}",
                              "seed=0", f"run_dir={run_dir}"], *extra))


def plain_step_fn(kind: str, model: torch.nn.Module):
    """One training step of ``kind`` written against the bare networks; returns the loss as a float."""
    cfg = model.cfg
    if kind == "gan":
        opt_g = adam(model.generator.parameters(), lr=cfg.lr, betas=tuple(cfg.betas))
        opt_d = adam(model.discriminator.parameters(), lr=cfg.lr_d or cfg.lr, betas=tuple(cfg.betas))
        g, d = model.generator, model.discriminator

        def fake(n):
            return model.output_activation(g(torch.randn(n, cfg.latent_dim)))

        def step(x):
            d.requires_grad_(False)
            g_loss = generator_loss(d(fake(len(x))), cfg.loss)
            g_loss.backward()
            opt_g.step()
            opt_g.zero_grad(set_to_none=True)
            d.requires_grad_(True)
            g.requires_grad_(False)
            for _ in range(cfg.d_steps):
                d_loss = discriminator_loss(d(x), d(fake(len(x)).detach()), cfg.loss)
                d_loss.backward()
                opt_d.step()
                opt_d.zero_grad(set_to_none=True)
            g.requires_grad_(True)
            return g_loss.item()
        return step
    optimizer = adam(model.parameters(), lr=cfg.lr, weight_decay=getattr(cfg, "weight_decay", 0.0))

    def step(x):
        if kind == "vae":
            loss = model.loss_terms(x, cfg.beta)["loss"]
        else:
            loss = reconstruction_loss(model.decoder(model.encode(x)), x, cfg.loss, model.data_info.value_range)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()
    return step


def run_plain(kind: str, cfg) -> tuple[float, float, list[float]]:
    start = time.perf_counter()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule).train()
    datamodule.prepare_data()
    datamodule.setup("fit")
    step = plain_step_fn(kind, model)
    stamps, loss, done = [], float("nan"), 0
    while done < cfg.max_batches:
        for x, *_ in datamodule.train_dataloader():
            loss = step(x)
            stamps.append(time.perf_counter())
            done += 1
            if done == cfg.max_batches:
                break
    return time.perf_counter() - start, loss, stamps


def run_genlab(kind: str, cfg) -> tuple[float, float, list[float]]:
    clock = BatchEndClock()
    original = genlab_train.build_callbacks
    genlab_train.build_callbacks = lambda *a, **k: [*original(*a, **k), clock]
    try:
        start = time.perf_counter()
        result = genlab_train.train(cfg)
        total = time.perf_counter() - start
    finally:
        genlab_train.build_callbacks = original
    return total, result.trainer.callback_metrics[LOSS_KEY[kind]].item(), clock.stamps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(EXPERIMENTS), choices=list(EXPERIMENTS))
    parser.add_argument("--steps", type=int, default=300, help="timed steps after the warm-up")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=key=value,...",
                        help="an extra genlab row with these overrides")
    parser.add_argument("--tiny", action="store_true", help="tiny nets, a few steps, one repeat: a smoke test")
    parser.add_argument("--out", default=None, help="folder for the runs (default: a temporary one)")
    args = parser.parse_args()
    if args.tiny:
        args.steps, args.warmup, args.repeats, args.batch_size = 4, 2, 1, 16
    torch.set_num_threads(args.threads)
    variants = {"genlab": []}
    for spec in args.variant:
        name, _, overrides = spec.partition("=")
        variants[f"genlab {name}"] = overrides.split(",")
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        for kind in args.models:
            extra = TINY_NETS[kind] if args.tiny else []
            steps = args.warmup + args.steps
            times: dict[str, list[tuple[float, float, float]]] = {"plain": [], **{v: [] for v in variants}}
            for r in range(args.repeats):
                order = ["plain", *variants] if r % 2 == 0 else [*variants, "plain"]
                for name in order:
                    if name == "plain":
                        total, loss, stamps = run_plain(kind, config(kind, steps, args.batch_size, "unused", extra))
                    else:
                        run_dir = out / f"{kind}-{name.replace(' ', '_')}-{r}"
                        cfg = config(kind, steps, args.batch_size, str(run_dir), with_args(extra, *variants[name]))
                        total, loss, stamps = run_genlab(kind, cfg)
                    assert len(stamps) == steps, (name, len(stamps), steps)
                    step_s = per_step(stamps, args.warmup)
                    times[name].append((step_s, total - step_s * steps, loss))
            plain = times["plain"]
            for name, got in times.items():
                ratios = [g[0] / p[0] for g, p in zip(got, plain, strict=True)]
                rows.append((kind, name, statistics.median(g[0] for g in got) * 1e3, statistics.median(ratios),
                             min(ratios), max(ratios), statistics.median(g[1] for g in got), got[-1][2]))
    print(f"\n{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {args.threads}, "
          f"{time.strftime('%Y-%m-%d')}, load average at start {load:.1f}; batch {args.batch_size}, "
          f"{args.warmup} warm-up + {args.steps} timed steps, {args.repeats} interleaved repeats"
          f"{' (TINY MODE: not a result)' if args.tiny else ''}\n")
    print("| model | loop | ms/step (median) | ratio to plain (median) | ratio min-max | fixed s | last loss |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind, name, ms, ratio, lo, hi, fixed, loss in rows:
        print(f"| {kind} | {name} | {ms:.2f} | {ratio:.3f} | {lo:.3f}-{hi:.3f} | {fixed:.1f} | {loss:.4f} |")


if __name__ == "__main__":
    main()
