"""GAN on MNIST for a fixed CPU budget, then the full metric suite on 10,000 samples; prints a markdown row.

    PYTHONPATH=. python benchmarks/gan_mnist.py --minutes 30 [--experiment gan_mnist] [key=value ...]

Training stops after ``--minutes`` of wall time (Lightning's max_time, validation included) and the best
checkpoint by validation FID is evaluated with ``scripts/evaluate.py``'s code. Goal (issue 4): FID <= 3x the
real-vs-real floor, 10/10 digits covered, class KL <= 0.05. The default MNIST classifier must be cached (or is
trained first, outside the budget). Extra ``key=value`` arguments override the experiment config.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from machine import cpu_name

from genlab.core.steps import logging_step
from genlab.runner.cli import with_args
from genlab.runner.config import compose
from genlab.runner.run.classifier import ensure_classifier
from genlab.runner.run.evaluate import evaluate
from genlab.runner.run.train import train

GOAL = {"fid_ratio": 3.0, "class_coverage": 10, "class_kl": 0.05}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="training wall-time budget")
    parser.add_argument("--experiment", default="gan_mnist")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    parser.add_argument("--run-dir", default=None)
    parser.add_argument("overrides", nargs="*", help="config overrides, key=value")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ensure_classifier()
    seconds = int(args.minutes * 60)
    run_dir = args.run_dir or f"runs/benchmarks/{args.experiment}-{time.strftime('%Y%m%d-%H%M%S')}"
    base = [f"experiment={args.experiment}", "trainer.accelerator=cpu", "trainer.devices=1",
            "trainer.max_epochs=-1", f"trainer.max_time=00:00:{seconds // 60:02d}:{seconds % 60:02d}",
            "trainer.limit_val_batches=8", "trainer.limit_test_batches=0", "trainer.enable_progress_bar=false",
            "logger.mode=disabled", f"run_dir={run_dir}"]
    cfg = compose(with_args(base, *args.overrides))
    load = os.getloadavg()[0]
    start = time.time()
    result = train(cfg)
    fit_s = time.time() - start
    batches = logging_step(result.trainer)
    images_per_s = batches * cfg.data.batch_size / fit_s
    ckpt = result.trainer.checkpoint_callback.best_model_path or f"{run_dir}/checkpoints/last.ckpt"
    start = time.time()
    # the run skipped its own test stage (limit_test_batches=0 is saved in the checkpoint): test on all of it
    m = {k.removeprefix("test/"): v for k, v in evaluate(ckpt, ["trainer.limit_test_batches=1.0"]).items()}
    eval_s = time.time() - start
    ratio = m["fid"] / m["fid_floor"]
    met = ratio <= GOAL["fid_ratio"] and m["class_coverage"] >= GOAL["class_coverage"] \
        and m["class_kl"] <= GOAL["class_kl"]
    model = cfg.model
    arch = f"{model.arch} ngf/ndf {model.ngf}/{model.ndf}" if model.arch == "dcgan" else f"mlp {list(model.g_hidden)}"
    print(f"\nmachine: {cpu_name()}, {os.cpu_count()} cores, torch threads {args.threads}, load average at start "
          f"{load:.1f}; fit {fit_s / 60:.1f} min ({batches / result.trainer.num_training_batches:.1f} epochs, "
          f"{batches} batches), "
          f"evaluation {eval_s:.0f} s; checkpoint {ckpt}\n")
    print("| experiment | model | loss | image | budget | batches | img/s | FID | floor | FID/floor | KID | IS | "
          "coverage | class KL | goal |")
    print("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {args.experiment} | {arch} | {model.loss} | {cfg.data.image_size}px | {args.minutes:g} min | {batches} | "
          f"{images_per_s:.0f} | {m['fid']:.3f} | {m['fid_floor']:.3f} | {ratio:.2f} | {m['kid']:.4f} | "
          f"{m['classifier_is']:.2f} | {m['class_coverage']:.0f}/10 | {m['class_kl']:.3f} | "
          f"{'met' if met else 'not met'} |")


if __name__ == "__main__":
    main()
