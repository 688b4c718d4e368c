"""GAN recipes on MNIST under a CPU-time budget: FID/floor, class coverage and class KL at fixed times.

    PYTHONPATH=. python benchmarks/gan_recipes.py --eval-at 10 20 30 --threads 1 \\
        --recipe dcgan= --recipe half_b32_ema --recipe "r1_big=model.ngf=32,model.ndf=32,model.r1_gamma=10"

Each ``--recipe NAME=key=value,...`` (or a bare NAME of ``RECIPES``) trains ``--experiment`` (default
gan_mnist_dcgan, the paper's DCGAN, so a recipe names everything it changes; ``--experiment gan_mnist`` starts
from the shipped recipe) with those overrides, one
recipe after the other, without validation (it would spend the budget), until the last ``--eval-at`` minute
mark of training time: the training process's CPU time from the first batch (with ``--threads 1`` that is the
time one free core would take, also when other jobs share the machine; setup and the classifier are outside). At
each mark a checkpoint is written (``checkpoints/t<M>min.ckpt``); after training each is evaluated with
``scripts/evaluate.py``'s code on the whole test split with ``eval.num_samples`` generated digits: FID in the
MNIST classifier's feature space over the real-vs-real floor (training vs test digits, same extractor), class
coverage and class KL to uniform. Goal (issue 12): FID/floor <= 3, 10/10 digits, KL <= 0.05 within 30 minutes.
The default MNIST classifier is trained and cached first (outside the budget) unless ``--classifier-ckpt``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from machine import cpu_name

import genlab.runner.run.train as genlab_train
from genlab.core.steps import logging_step
from genlab.runner.cli import with_args
from genlab.runner.config import compose
from genlab.runner.run.classifier import ensure_classifier
from genlab.runner.run.evaluate import evaluate

GOAL = {"fid_ratio": 3.0, "class_coverage": 10, "class_kl": 0.05}
_HALF_EMA = ["model.ngf=32", "model.ndf=32", "data.batch_size=32", "model.ema_decay=0.999"]
# Named recipes (``--recipe NAME``): overrides of gan_mnist_dcgan. r1_1 is the shipped gan_mnist (half_b32_ema was until
# the second round of issue 21, r1_0.1 until the third).
RECIPES = {
    "half_b32_ema": _HALF_EMA,
    # R1 on real images, lazy every 16 batches; gamma swept around StyleGAN2's 0.0002 * pixels / batch = 0.0064
    "r1_0.01": [*_HALF_EMA, "model.r1_gamma=0.01"],
    "r1_0.1": [*_HALF_EMA, "model.r1_gamma=0.1"],
    "r1_1": [*_HALF_EMA, "model.r1_gamma=1"],
    # SNGAN's line: hinge loss, spectral norm in D (no BatchNorm there), D learning 4x faster (TTUR)
    "hinge_sn_ttur": [*_HALF_EMA, "model.loss=hinge", "model.spectral_norm=true", "model.lr=1e-4", "model.lr_d=4e-4"],
}


def recipe_overrides(spec: str, table: dict[str, list[str]]) -> tuple[str, list[str]]:
    """``NAME=key=value,...`` -> (NAME, overrides); a bare ``NAME`` -> its entry in ``table``."""
    name, sep, overrides = spec.partition("=")
    if not sep:
        if name not in table:
            raise SystemExit(f"unknown recipe {name!r}: one of {', '.join(table)}, or NAME=key=value,...")
        return name, table[name]
    return name, [o for o in overrides.split(",") if o]


class CpuMarks:
    """Minute marks of training time: the process's CPU time from the first batch (``start``). A shared machine
    stretches wall time, so wall-clock budgets (Lightning's ``max_time``) would shrink with the load."""

    def __init__(self, marks_min: list[float]):
        self.marks, self.start, self.passed = sorted(marks_min), None, []

    def begin(self) -> None:
        if self.start is None:
            self.start = time.process_time()

    def due(self) -> list[float]:
        """The marks passed since the last call (each once)."""
        elapsed = (time.process_time() - self.start) / 60
        new = [m for m in self.marks if m not in self.passed and elapsed >= m]
        self.passed += new
        return new

    @property
    def done(self) -> bool:
        return len(self.passed) == len(self.marks)


class TimeMarks(pl.Callback):
    """Save a checkpoint at each ``CpuMarks`` mark and stop after the last one. Lightning's
    ``train_time_interval`` and ``max_time`` count wall time, and ``max_time`` counts setup as well."""

    def __init__(self, run_dir: Path, marks_min: list[float]):
        self.dir, self.clock, self.saved = run_dir / "checkpoints", CpuMarks(marks_min), {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.clock.begin()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        for mark in self.clock.due():
            path = self.dir / f"t{mark:g}min.ckpt"
            trainer.save_checkpoint(path)
            self.saved[mark] = (path, logging_step(trainer))
        if self.clock.done:
            trainer.should_stop = True


def train_recipe(experiment: str, overrides: list[str], marks: list[float], run_dir: Path) -> dict:
    base = [f"experiment={experiment}", "trainer.devices=1", "trainer.max_epochs=-1",
            "trainer.limit_val_batches=0", "trainer.limit_test_batches=0", "trainer.enable_progress_bar=false",
            "callbacks.monitor=null", "callbacks.images=[]", "logger.mode=disabled", f"run_dir={run_dir}"]
    cfg = compose(with_args(base, *overrides))
    marks_cb = TimeMarks(run_dir, marks)
    original = genlab_train.build_callbacks  # the real run's callbacks plus the time marks
    genlab_train.build_callbacks = lambda *a, **k: [*original(*a, **k), marks_cb]
    try:
        genlab_train.train(cfg)
    finally:
        genlab_train.build_callbacks = original
    return marks_cb.saved


def saved_marks(run_dir: Path, marks: list[float]) -> dict[float, tuple[Path, int]]:
    """``--score-only``: an earlier run's mark checkpoints, as ``train_recipe`` returns them. The batches trained
    are read from the checkpoint's loop state (the count ``logging_step`` reads), so that the score of a run that
    was stopped before its evaluation still says how much training it had."""
    saved = {}
    for mark in marks:
        path = run_dir / "checkpoints" / f"t{mark:g}min.ckpt"
        loops = torch.load(path, map_location="cpu", weights_only=False)["loops"]
        saved[mark] = (path, loops["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"])
    return saved


def metrics_path(ckpt: Path, tag: str, score_only: bool) -> Path:
    """Where a mark's metrics go: beside its checkpoint; a rescoring (``--score-only``) names its evaluation
    (``tag``) and so keeps the training run's own file, as ``peers.py`` does (``frontier.py`` reads both)."""
    return Path(ckpt).with_suffix(f".{tag}.metrics.json" if score_only else ".metrics.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", action="append", required=True, metavar="NAME[=key=value,...]",
                        help=f"named: {', '.join(RECIPES)}")
    parser.add_argument("--eval-at", type=float, nargs="+", default=[10, 20, 30], help="minutes of training")
    parser.add_argument("--experiment", default="gan_mnist_dcgan")
    parser.add_argument("--num-samples", type=int, default=10000)
    parser.add_argument("--classifier-ckpt", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument("--out", default=f"runs/benchmarks/gan_recipes-{time.strftime('%Y%m%d-%H%M%S')}")
    parser.add_argument("--tiny", action="store_true", help="tiny nets, seconds of training, few samples")
    parser.add_argument("--score-only", action="store_true",
                        help="no training: evaluate the mark checkpoints an earlier run saved under --out")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    common = [f"trainer.accelerator={args.accelerator}"]
    common += [f"eval.classifier_ckpt={args.classifier_ckpt}"] if args.classifier_ckpt else []
    if args.tiny:
        common += ["model.ngf=4", "model.ndf=4", "data.batch_size=16"]
    if not args.classifier_ckpt:
        ensure_classifier()
    load = os.getloadavg()[0]
    table = []
    for spec in args.recipe:
        name, recipe = recipe_overrides(spec, RECIPES)
        saved = (saved_marks(Path(args.out) / name, args.eval_at) if args.score_only
                 else train_recipe(args.experiment, [*common, *recipe], args.eval_at, Path(args.out) / name))
        cells = {}  # evaluated in the order given (--score-only: the newest mark first), shown in time order
        for mark in args.eval_at:
            ckpt, batches = saved[mark]
            # the checkpoint's saved config carries the classifier and the nets
            m = evaluate(ckpt, ["trainer.limit_test_batches=1.0", f"eval.num_samples={args.num_samples}"])
            m = {k.removeprefix("test/"): v for k, v in m.items()}
            # evaluate() writes the run's metrics.json each time: keep each mark's metrics beside its checkpoint
            metrics_path(ckpt, f"n{args.num_samples}", args.score_only).write_text(
                json.dumps({**m, "batches": batches}, indent=2) + "\n")
            cells[mark] = (m["fid"] / m["fid_floor"], m["class_coverage"], m["class_kl"], batches)
        table.append((name, recipe, [cells[m] for m in sorted(cells)]))
    print(f"\n{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {args.threads}, "
          f"{time.strftime('%Y-%m-%d')}, load average at start {load:.1f}; {args.experiment}, "
          f"{args.num_samples} samples per evaluation{' (TINY MODE: not a result)' if args.tiny else ''}\n")
    heads = " | ".join(f"{m:g} min: FID/floor, digits, KL (batches)" for m in sorted(args.eval_at))
    print(f"| recipe | overrides | {heads} | goal at {max(args.eval_at):g} min |")
    print("|---|---|" + "---|" * len(args.eval_at) + "---|")
    for name, recipe, cells in table:
        ratio, coverage, kl, _ = cells[-1]
        met = ratio <= GOAL["fid_ratio"] and coverage >= GOAL["class_coverage"] and kl <= GOAL["class_kl"]
        text = " | ".join(f"{r:.2f}, {c:.0f}/10, {k:.3f} ({b})" for r, c, k, b in cells)
        print(f"| {name} | {' '.join(recipe) or '(experiment defaults)'} | {text} | {'met' if met else 'not met'} |")


if __name__ == "__main__":
    main()
