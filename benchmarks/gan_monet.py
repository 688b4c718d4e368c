"""Does DiffAugment help the DCGAN on the 300 Monet paintings at equal CPU time?

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/gan_monet.py --eval-at 4 8 --threads 1

Trains ``gan_monet`` twice, with its DiffAugment policy and with ``model.diffaugment=""``, one after the other,
without validation, until each ``--eval-at`` minute mark of training time (the process's CPU time from the first
batch, as ``benchmarks/gan_recipes.py`` measures, whose ``train_recipe`` this reuses). Each mark's checkpoint is
evaluated with ``scripts/evaluate.py``'s code: KID, FID and MiFID of ``--num-samples`` samples against the test
split, beside the real-vs-real floor (training against test paintings) in the same feature space: Inception when
``make install-inception`` ran, else pixels (the table says which). With ``--grids DIR`` the last mark's samples
of each arm are written there (``gan_monet_diffaugment.png``, ``gan_monet_plain.png``, 8 x 8, seed 0).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from gan_recipes import train_recipe
from machine import cpu_name

from genlab.metrics.image_features import natural_image_features
from genlab.runner.cli import with_args
from genlab.runner.run.evaluate import evaluate
from genlab.runner.tools.loading import load
from genlab.runner.tools.sampling import write_pictures

ARMS = {"diffaugment": [], "plain": ["model.diffaugment="]}


def evaluate_marks(saved: dict, marks: list[float], num_samples: int) -> list[tuple[dict, int]]:
    cells = []
    for mark in marks:
        ckpt, batches = saved[mark]
        m = evaluate(ckpt, ["trainer.limit_test_batches=1.0", f"eval.num_samples={num_samples}"])
        m = {k.removeprefix("test/"): v for k, v in m.items()}
        Path(ckpt).with_suffix(".metrics.json").write_text(json.dumps(m, indent=2) + "\n")
        cells.append((m, batches))
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-at", type=float, nargs="+", default=[4, 8], help="minutes of training CPU time")
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=f"runs/benchmarks/gan_monet-{time.strftime('%Y%m%d-%H%M%S')}")
    parser.add_argument("--grids", default=None, help="folder for the last mark's sample grids")
    parser.add_argument("--tiny", action="store_true", help="tiny nets at 32 px, seconds of training")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    common = ["data.image_size=32", "model.ngf=4", "model.ndf=4", "data.batch_size=8"] if args.tiny else []
    load_avg = os.getloadavg()[0]
    table = {}
    for name, overrides in ARMS.items():
        saved = train_recipe("gan_monet", with_args(common, *overrides), args.eval_at, Path(args.out) / name)
        table[name] = evaluate_marks(saved, args.eval_at, args.num_samples)
        if args.grids:
            model, cfg = load(saved[args.eval_at[-1]][0])
            grid, _, _ = write_pictures(model, cfg, 64, 0, Path(args.grids) / f"gan_monet_{name}.png")
            print(f"samples: {grid}")
    features, _ = natural_image_features("auto")
    print(f"\n{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {args.threads}, "
          f"{time.strftime('%Y-%m-%d')}, load average at start {load_avg:.1f}; gan_monet, {args.num_samples} samples "
          f"against the 30 test paintings, {features} features{' (TINY MODE: not a result)' if args.tiny else ''}\n")
    heads = " | ".join(f"{m:g} min: KID, FID, MiFID (batches)" for m in args.eval_at)
    print(f"| DiffAugment | {heads} | floor KID, FID |")
    print("|---|" + "---|" * len(args.eval_at) + "---|")
    for name, cells in table.items():
        text = " | ".join(f"{m['kid']:.4f}, {m['fid']:.2f}, {m['mifid']:.2f} ({b})" for m, b in cells)
        floor = cells[-1][0]
        print(f"| {'on (color,translation,cutout)' if name == 'diffaugment' else 'off'} | {text} | "
              f"{floor['kid_floor']:.4f}, {floor['fid_floor']:.2f} |")


if __name__ == "__main__":
    main()
