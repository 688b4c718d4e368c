"""Benchmark: the VAE on dynamically binarized MNIST, trained within a wall-clock budget on this machine.

Trains ``experiment=vae_mnist`` for ``--minutes`` (Lightning ``max_time``), takes the checkpoint with the
best val/neg_elbo, and evaluates the test -ELBO and the importance-weighted NLL with k samples on the first
n test images. Prints a markdown table beside Burda et al. (2015): a one-stochastic-layer VAE trained with
k=1 on dynamically binarized MNIST reaches 86.76 nats (k=5000, 3280 epochs).

    PYTHONPATH=. python benchmarks/vae_mnist.py --minutes 30 [--iw-samples 5000] [--test-size 10000]
        [--threads 1] [key=value overrides of the experiment ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from machine import cpu_name

from genlab.runner.cli import with_args
from genlab.runner.config import compose
from genlab.runner.run.evaluate import evaluate
from genlab.runner.run.train import train

REFERENCE_NLL = 86.76  # Burda et al. 2015, table 1: VAE, 1 stochastic layer, k=1 training
EVAL_BATCH = 100
TEST_IMAGES = 10000


def hms(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"00:{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget, wall-clock minutes")
    parser.add_argument("--iw-samples", type=int, default=5000, help="importance samples k per test image")
    parser.add_argument("--test-size", type=int, default=TEST_IMAGES,
                        help=f"test images n, a multiple of {EVAL_BATCH} (the first n of the test set)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 on a shared machine)")
    parser.add_argument("--run-dir", default=None, help="run folder (default runs/vae_mnist/bench-<time>)")
    parser.add_argument("overrides", nargs="*", help="experiment overrides, e.g. model.latent_dim=32")
    args = parser.parse_args()
    if args.minutes <= 0 or args.iw_samples < 1 or args.threads < 1:
        parser.error("--minutes, --iw-samples and --threads must be positive")
    if not 0 < args.test_size <= TEST_IMAGES or args.test_size % EVAL_BATCH:
        parser.error(f"--test-size must be a multiple of {EVAL_BATCH} in {EVAL_BATCH}..{TEST_IMAGES}")

    torch.set_num_threads(args.threads)
    run_dir = args.run_dir or f"runs/vae_mnist/bench-{time.strftime('%Y%m%d-%H%M%S')}"
    base = ["experiment=vae_mnist", f"run_dir={run_dir}", f"trainer.max_time={hms(args.minutes * 60)}",
            "trainer.max_epochs=-1", "trainer.limit_test_batches=0", "trainer.enable_progress_bar=false",
            "trainer.accelerator=cpu", "trainer.devices=1", "logger.mode=disabled"]
    cfg = compose(with_args(base, *args.overrides))
    load_before = os.getloadavg()
    start = time.perf_counter()
    result = train(cfg)
    train_wall = time.perf_counter() - start
    trainer = result.trainer
    epochs = trainer.global_step / trainer.num_training_batches
    best = trainer.checkpoint_callback.best_model_path

    start = time.perf_counter()
    metrics = evaluate(best, [f"eval.iw_samples={args.iw_samples}", f"data.batch_size={EVAL_BATCH}",
                              f"trainer.limit_test_batches={args.test_size // EVAL_BATCH}",
                              "trainer.enable_progress_bar=false"])
    eval_wall = time.perf_counter() - start
    load_after = os.getloadavg()

    model = cfg.model
    arch = (f"MLP {'-'.join(map(str, model.hidden))} {model.activation}" if model.arch == "mlp"
            else f"conv {model.channels} ch")
    print(f"\nMachine: {cpu_name()}, {os.cpu_count()} cores visible, torch threads {args.threads}, "
          f"1-min load average {load_before[0]:.1f} before / {load_after[0]:.1f} after (other jobs share the CPU)")
    overrides = " ".join(args.overrides) or "none"
    print(f"Run: {result.run_dir}, best checkpoint {Path(best).name}; overrides: {overrides}\n")
    print("| model | training | epochs | train wall | test -ELBO | test NLL (IW) | k | n | eval wall | active units |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| genlab VAE, {arch}, latent {model.latent_dim} | {minutes(args.minutes * 60)} budget, "
          f"batch {cfg.data.batch_size}, Adam {model.lr:g} | {epochs:.1f} | {minutes(train_wall)} | "
          f"{metrics['test/neg_elbo']:.2f} | {metrics['test/nll_iw']:.2f} | {args.iw_samples} | {args.test_size} | "
          f"{minutes(eval_wall)} | {metrics['test/active_units']:.0f} / {model.latent_dim} |")
    print(f"| Burda et al. 2015, VAE, MLP 200-200 tanh, latent 50 | k=1, 3280 epochs | 3280 | - | - | "
          f"{REFERENCE_NLL} | 5000 | 10000 | - | 19 / 50 |")


if __name__ == "__main__":
    main()
