"""VAE recipes on dynamically binarized MNIST under a CPU-time budget: the test NLL (IWAE bound, k samples) at
fixed times of training.

    PYTHONPATH=. python benchmarks/vae_recipes.py --eval-at 10 20 30 --threads 1 --recipe vae_mnist= \\
        --recipe "iwae5=model.iw_train_samples=5"

Each ``--recipe NAME=key=value,...`` trains ``--experiment`` (default vae_mnist, the shipped VAE) with those
overrides, without validation, until the last ``--eval-at`` mark of training time (the training process's CPU
time from the first batch, ``gan_recipes.TimeMarks``), with a checkpoint at each mark; after training each is
evaluated with ``scripts/evaluate.py``'s code: ``test/nll_iw`` with ``--iw-samples`` importance samples on the
first ``--test-size`` test images (genlab's binarized test split), and the k-sample -ELBO. ``RECIPES`` lists the
options the issue asks to try, by name (``--recipe NAME`` with no ``=`` takes it from there).
Goal (issue 21): <= 87 nats at 30 CPU-minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from gan_recipes import metrics_path, recipe_overrides, saved_marks, train_recipe
from machine import cpu_name

from genlab.runner.run.evaluate import evaluate

GOAL_NATS = 87.0
EVAL_BATCH = 100
# Named recipes: overrides of vae_mnist (MLP 512-256 ReLU, latent 50, Adam 1e-3, batch 128, the ELBO, KL warm-up).
RECIPES = {
    "vae_mnist": [],
    "iwae5": ["model.iw_train_samples=5"],  # the importance-weighted training bound (Burda et al.)
    "warmup": ["model.kl_warmup_steps=10000"],  # KL weight 0 -> 1 over the first ~21 epochs: today's default
    "no_warmup": ["model.kl_warmup_steps=0"],  # the default before issue 21's fourth round
    "warmup_decay": ["model.kl_warmup_steps=10000", "model.lr_decay=0.983"],
    "lr_decay": ["model.lr=2e-3", "model.lr_decay=0.98"],
    "wide": ["model.hidden=[1024,512]"],
    "latent32": ["model.latent_dim=32"],
    "b64": ["data.batch_size=64"],
    # twice the updates per epoch, and Adam's step shrinking 2 % per epoch (x0.13 by epoch 100) for the late phase
    "b64_decay": ["data.batch_size=64", "model.lr_decay=0.98"],
    # the network of pytorch/examples' VAE (784-400-20), which led genlab's default at 3 CPU-minutes
    "small": ["model.hidden=[400]", "model.latent_dim=20"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", action="append", required=True, metavar="NAME[=key=value,...]")
    parser.add_argument("--eval-at", type=float, nargs="+", default=[10, 20, 30], help="CPU-minutes of training")
    parser.add_argument("--experiment", default="vae_mnist")
    parser.add_argument("--iw-samples", type=int, default=5000)
    parser.add_argument("--test-size", type=int, default=10000, help=f"a multiple of {EVAL_BATCH}")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--score-only", action="store_true",
                        help="no training: evaluate the mark checkpoints an earlier run saved under --out")
    parser.add_argument("--out", default=f"runs/benchmarks/vae_recipes-{time.strftime('%Y%m%d-%H%M%S')}")
    args = parser.parse_args()
    if args.test_size % EVAL_BATCH or not 0 < args.test_size <= 10000:
        parser.error(f"--test-size must be a multiple of {EVAL_BATCH} in {EVAL_BATCH}..10000")
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    table = []
    for spec in args.recipe:
        name, recipe = recipe_overrides(spec, RECIPES)
        saved = (saved_marks(Path(args.out) / name, args.eval_at) if args.score_only
                 else train_recipe(args.experiment, ["trainer.accelerator=cpu", *recipe], args.eval_at,
                                   Path(args.out) / name))
        cells = {}  # evaluated in the order given (--score-only: the newest mark first), shown in time order
        for mark in args.eval_at:
            ckpt, batches = saved[mark]
            m = evaluate(ckpt, [f"eval.iw_samples={args.iw_samples}", f"data.batch_size={EVAL_BATCH}",
                                f"trainer.limit_test_batches={args.test_size // EVAL_BATCH}"])
            # the evaluation's size goes with the numbers: a subset's NLL is not the full test set's
            m = {**{k.removeprefix("test/"): v for k, v in m.items()}, "iw_samples": args.iw_samples,
                 "test_images": args.test_size}
            metrics_path(ckpt, f"k{args.iw_samples}_n{args.test_size}", args.score_only).write_text(
                json.dumps({**m, "batches": batches}, indent=2) + "\n")
            print(f"{name} at {mark:g} min: {json.dumps(m)}", flush=True)
            cells[mark] = (m["nll_iw"], m["neg_elbo"], batches)
        table.append((name, recipe, [cells[m] for m in sorted(cells)]))
    print(f"\n{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {args.threads}, "
          f"{time.strftime('%Y-%m-%d')}, load average at start {load:.1f}; {args.experiment}; NLL with "
          f"k = {args.iw_samples} on {args.test_size} test images\n")
    heads = " | ".join(f"{m:g} min: NLL (-ELBO) (batches)" for m in sorted(args.eval_at))
    print(f"| recipe | overrides | {heads} | goal at {max(args.eval_at):g} min |")
    print("|---|---|" + "---|" * len(args.eval_at) + "---|")
    for name, recipe, cells in table:
        text = " | ".join(f"{nll:.2f} ({elbo:.2f}) ({b})" for nll, elbo, b in cells)
        met = "met" if cells[-1][0] <= GOAL_NATS else "not met"
        print(f"| {name} | {' '.join(recipe) or '(experiment defaults)'} | {text} | {met} |")


if __name__ == "__main__":
    main()
