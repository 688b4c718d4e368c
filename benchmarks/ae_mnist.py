"""Autoencoders on MNIST against linear and trivial baselines; prints a markdown table.

    .venv/bin/python benchmarks/ae_mnist.py [--epochs 10] [--latents 2 16 32] [--sigma 0.5] [--threads 1]

Test MSE (per pixel, images in [0, 1]) of the MLP autoencoder at each latent size against PCA with as many
components (fitted on the same training split) and against predicting the mean training image; the denoising
autoencoder (Gaussian noise, clipped) against the identity baseline that returns the noisy input.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from machine import cpu_name

from genlab.runner.cli import with_args
from genlab.runner.config import compose
from genlab.runner.run.train import train
from lightning_modules.corruption import corrupt


def train_ae(experiment: str, latent: int, epochs: int, extra: list[str]) -> tuple[float, object]:
    base = [f"experiment={experiment}", f"model.latent_dim={latent}", f"trainer.max_epochs={epochs}",
            "logger.mode=disabled", "callbacks.images=[]", "trainer.accelerator=cpu", "trainer.devices=1",
            "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
            f"run_dir=runs/benchmarks/ae_mnist/{experiment}-z{latent}"]
    cfg = compose(with_args(base, *extra))
    result = train(cfg)
    return result.trainer.callback_metrics["test/mse"].item(), result.datamodule


def pca_mse(train_x: torch.Tensor, test_x: torch.Tensor, k: int) -> float:
    mean = train_x.mean(0, keepdim=True)
    _, _, v = torch.linalg.svd(train_x - mean, full_matrices=False)
    basis = v[:k]
    recon = (test_x - mean) @ basis.T @ basis + mean
    return F.mse_loss(recon.clamp(0, 1), test_x).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latents", type=int, nargs="+", default=[2, 16, 32])
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps a shared machine fair)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    rows = []
    datamodule = None
    for latent in args.latents:
        mse, datamodule = train_ae("ae_mnist", latent, args.epochs, [])
        rows.append((latent, mse))
    train_x = datamodule.train_set.images.flatten(1).float() / 255
    test_x = datamodule.test_set.images.flatten(1).float() / 255
    mean_mse = F.mse_loss(train_x.mean(0).expand_as(test_x), test_x).item()
    dae_mse, _ = train_ae("dae_mnist", max(args.latents), args.epochs, [f"model.corruption_level={args.sigma}"])
    noisy = corrupt(test_x, "gaussian", args.sigma, generator=torch.Generator().manual_seed(0))
    identity_mse = F.mse_loss(noisy, test_x).item()

    print(f"\nMNIST test set (10,000 images), MLP autoencoder 784-512-256-z, BCE loss, Adam 1e-3, batch 128, "
          f"{args.epochs} epochs each; {cpu_name()}, {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}, wall time {time.time() - start:.0f} s\n")
    print("| model | latent / components | test MSE | PCA MSE | mean-image MSE | AE / PCA |")
    print("|---|---:|---:|---:|---:|---:|")
    for latent, mse in rows:
        pca = pca_mse(train_x, test_x, latent)
        print(f"| autoencoder | {latent} | {mse:.4f} | {pca:.4f} | {mean_mse:.4f} | {mse / pca:.2f} |")
    print("\n| model | noise | test MSE (noisy in, clean target) | identity MSE | ratio (goal <= 0.5) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| denoising AE, z={max(args.latents)} | Gaussian sigma {args.sigma}, clipped | {dae_mse:.4f} | "
          f"{identity_mse:.4f} | {dae_mse / identity_mse:.2f} |")


if __name__ == "__main__":
    main()
