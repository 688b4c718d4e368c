"""CycleGAN photo <-> Monet: training speed and memory, and a short real run against its untrained start.

    .venv/bin/python benchmarks/cyclegan.py [--minutes 10] [--threads 1] [--speed-iters 2] [--sizes 128 256]

1. Seconds per training iteration (batch 1: four generator and four discriminator passes, the generators' step,
   the discriminators' step) of the official networks (ngf = ndf = 64; 6 residual blocks at 128 px, 9 at 256 px)
   under the real Trainer on the shared monet2photo images, after one warm-up iteration; peak memory is the CUDA
   allocator's peak on a GPU, else the peak resident size of the process that ran it (one fresh process per size).
2. ``cyclegan_monet_small`` (128 px, 6 blocks, ngf = ndf = 32) trained for ``--minutes`` on the shared images:
   test cycle/identity L1 and KID/FID of its last weights against the same seeded network before any step,
   beside two baselines measured with the same feature extractor: the identity translation (real photos scored
   as Monet) and real Monet train paintings against the test paintings (the floor).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from machine import cpu_name  # noqa: E402

from datamodules.image_files import load_rgb  # noqa: E402
from genlab.core.steps import logging_step  # noqa: E402
from genlab.metrics.distribution_metrics import DistributionMetrics  # noqa: E402
from genlab.metrics.image_features import build_feature_extractor, resolve_features  # noqa: E402
from genlab.runner.config import compose  # noqa: E402
from genlab.runner.run.build import build_datamodule, build_model  # noqa: E402
from genlab.runner.run.train import train  # noqa: E402

QUIET = ["logger.mode=disabled", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
         "trainer.devices=1", "data.num_workers=0"]
METRICS = ("cycle_l1_A", "cycle_l1_B", "idt_l1_A", "idt_l1_B", "kid_AtoB", "kid_BtoA", "fid_AtoB", "fid_BtoA",
           "mifid_AtoB")


class IterationTimer(pl.Callback):
    def __init__(self):
        self.times: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self.times.append(time.perf_counter() - self.start)


def speed_worker(size: int, iters: int) -> dict:
    """Runs in its own process so that its peak resident size is its own."""
    cfg = compose(["experiment=cyclegan_monet", f"data.crop_size={size}", f"data.load_size={round(size * 286 / 256)}",
                   f"model.n_blocks={6 if size <= 128 else 9}", *QUIET])
    pl.seed_everything(0, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    timer = IterationTimer()
    trainer = pl.Trainer(accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, max_epochs=1,
                         limit_train_batches=iters + 1, callbacks=[timer])
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trainer.fit(model, datamodule=datamodule)
    device = trainer.strategy.root_device
    cuda = device.type == "cuda"
    peak_mb = (torch.cuda.max_memory_allocated() / 2**20 if cuda
               else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"size": size, "n_blocks": cfg.model.n_blocks, "device": str(device),
            "s_per_iter": sum(timer.times[1:]) / len(timer.times[1:]), "peak_mb": peak_mb,
            "before_fit_mb": None if cuda else before_mb,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6}


def distribution_baselines(cfg, kind: str) -> dict[str, float]:
    """KID of real photos scored as Monet (the identity translation) and of train vs test Monet (the floor)."""
    datamodule = build_datamodule(cfg)
    datamodule.setup("test")
    extractor = build_feature_extractor(kind, cfg.eval.inception_weights, datamodule.info.value_range)
    test, train_set = datamodule.test_set, datamodule.train_set

    def features(images):
        with torch.no_grad():
            return torch.cat([extractor(torch.stack(images[i:i + 16])) for i in range(0, len(images), 16)])

    photos = features([test[i]["A"] for i in range(len(test.paths_a))])
    monets = features([test[i]["B"] for i in range(len(test.paths_b))])
    monets_train = features([test.transform(load_rgb(p)) for p in train_set.paths_b[:len(test.paths_b) * 3]])
    out = {}
    for name, real, fake in (("identity", monets, photos), ("floor", monets, monets_train)):
        metric = DistributionMetrics(extractor.num_features, cfg.eval.kid_subsets, cfg.eval.kid_subset_size)
        metric.update(real=real, fake=fake)
        out[name] = {k: float(v) for k, v in metric.compute().items()}
    return out


def short_run(minutes: float, run_dir: Path) -> tuple[dict, dict, int, dict, str]:
    args = ["experiment=cyclegan_monet_small", *QUIET, f"run_dir={run_dir}",
            f"trainer.max_time=00:00:{int(minutes):02d}:{int(minutes % 1 * 60):02d}"]
    cfg = compose(args)
    kind = resolve_features(cfg.eval.features) or "pixels"
    cfg = compose([*args, f"eval.features={kind}"])
    # as genlab.runner.run.train does: the same initial weights
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    untrained = build_model(cfg, datamodule)
    tester = pl.Trainer(accelerator="auto", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False)
    before = {k.removeprefix("test/"): v for k, v in tester.test(untrained, datamodule, verbose=False)[0].items()}
    result = train(cfg)  # ends with the test of the last weights (no "best" checkpoint without validation)
    steps = logging_step(result.trainer)
    after = {k.removeprefix("test/"): v.item() for k, v in result.trainer.callback_metrics.items()
             if k.startswith("test/")}
    return before, after, steps, distribution_baselines(cfg, kind), kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="training time of the short real run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the CPU may be shared)")
    parser.add_argument("--speed-iters", type=int, default=2, help="timed iterations per size, after one warm-up")
    parser.add_argument("--sizes", type=int, nargs="*", default=[128, 256])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("GENLAB_DATA_DIR", str(REPO.parent / "shared" / "data"))
    if args.worker:
        print(json.dumps(speed_worker(args.worker, args.speed_iters)))
        return
    start = time.time()
    speed = []
    for size in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--worker", str(size), "--threads", str(args.threads),
                              "--speed-iters", str(args.speed_iters)], capture_output=True, text=True, check=True)
        speed.append(json.loads(out.stdout.strip().splitlines()[-1]))
    with tempfile.TemporaryDirectory() as tmp:
        before, after, steps, baselines, kind = short_run(args.minutes, Path(tmp) / "run")

    print(f"\n{cpu_name()}, {os.cpu_count()} cores, torch threads "
          f"{args.threads}, load average at the end {os.getloadavg()[0]:.1f}, wall time {time.time() - start:.0f} s\n")
    print("| size | generator | params (2 G + 2 D) | device | s / iteration (batch 1) | peak memory MB |")
    print("|---:|---|---:|---|---:|---:|")
    for r in speed:
        mem = f"{r['peak_mb']:.0f}" + (f" (RSS; {r['before_fit_mb']:.0f} before fit)" if r["before_fit_mb"] else "")
        print(f"| {r['size']} | resnet_{r['n_blocks']}blocks, ngf 64 | {r['params_m']:.2f} M | {r['device']} | "
              f"{r['s_per_iter']:.2f} | {mem} |")
    print(f"\ncyclegan_monet_small (128 px), {args.minutes:g} min of training = {steps} iterations; test split of "
          f"the shared monet2photo (30 photos, 20 paintings); KID/FID features: {kind}\n")
    print("| metric | untrained | trained | change |")
    print("|---|---:|---:|---:|")
    for key in METRICS:
        if key in before and key in after:
            print(f"| test/{key} | {before[key]:.4f} | {after[key]:.4f} | {after[key] - before[key]:+.4f} |")
    print("\n| baseline (same features) | KID | FID |")
    print("|---|---:|---:|")
    print(f"| identity: real photos scored against real Monet (test) | {baselines['identity']['kid']:.4f} | "
          f"{baselines['identity']['fid']:.1f} |")
    print(f"| floor: train Monet against test Monet | {baselines['floor']['kid']:.4f} | "
          f"{baselines['floor']['fid']:.1f} |")


if __name__ == "__main__":
    main()
