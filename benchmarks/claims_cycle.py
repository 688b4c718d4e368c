"""Claim 4: the cycle-consistency loss makes a CycleGAN keep its input's content.

    PYTHONPATH=. python benchmarks/claims_cycle.py [--cycle-ckpt CKPT --no-cycle-ckpt CKPT] [--tiny]

Trains ``experiment=claims_cyclegan`` (photo <-> Monet at 64 px, see the config) twice, everything else equal:
with the cycle loss (lambda_A = lambda_B = 10) and without it (``model.lambda_A=0 model.lambda_B=0``; the identity
loss is off in both, since the official code scales it by the same lambdas). On the test photos and paintings,
without labels:

- identification rate: the fraction of translations whose nearest source image (pixel L2 among all test images
  of the source domain) is their own source; chance is 1 / N;
- cycle L1: mean |F(G(x)) - x| (pixels in [-1, 1]), measured for both models (only one trained on it);
- L1 to source: mean |G(x) - x|, how far a translation moved from its input (0 would be no translation at all).
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import torch
from claims_common import (
    identification_rate,
    load_model,
    machine_line,
    markdown_table,
    parser,
    setup,
    train_experiment,
    write_outputs,
)

from datamodules.image_files import load_rgb
from genlab.callbacks.images import image_grid
from genlab.runner.cli import with_args
from lightning_modules.cyclegan import per_image_l1

NAME = "cycle"
TINY = ["data.load_size=36", "data.crop_size=32", "model.ngf=4", "model.ndf=4", "model.n_blocks=1"]
MODELS = {"with cycle loss": [], "without cycle loss": ["model.lambda_A=0", "model.lambda_B=0"]}
PANEL = 6  # images per domain in the figure


def test_images(datamodule, limit: int | None) -> dict[str, torch.Tensor]:
    """Every test image of each domain (A photos, B paintings), resized to the model's size as for testing."""
    datamodule.setup("test")
    ds = datamodule.test_set
    return {side: torch.stack([ds.transform(load_rgb(p)) for p in paths[:limit]])
            for side, paths in (("A", ds.paths_a), ("B", ds.paths_b))}


@torch.no_grad()
def measure(model, images: dict[str, torch.Tensor]) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    fake_b, fake_a = model(images["A"], "AtoB"), model(images["B"], "BtoA")
    rec_a, rec_b = model(fake_b, "BtoA"), model(fake_a, "AtoB")
    m = {"id_AtoB": identification_rate(fake_b, images["A"]), "id_BtoA": identification_rate(fake_a, images["B"]),
         "cycle_l1_A": float(per_image_l1(rec_a, images["A"]).mean()),
         "cycle_l1_B": float(per_image_l1(rec_b, images["B"]).mean()),
         "l1_to_source_AtoB": float(per_image_l1(fake_b, images["A"]).mean()),
         "l1_to_source_BtoA": float(per_image_l1(fake_a, images["B"]).mean())}
    return m, {"AtoB": fake_b, "BtoA": fake_a}


def main() -> None:
    p = parser(__doc__, NAME)
    p.add_argument("--cycle-ckpt", help="reuse a trained claims_cyclegan checkpoint (with the cycle loss)")
    p.add_argument("--no-cycle-ckpt", help="reuse a trained claims_cyclegan checkpoint trained with lambda 0")
    args = p.parse_args()
    out = setup(args, NAME)
    start = time.time()
    given = {"with cycle loss": args.cycle_ckpt, "without cycle loss": args.no_cycle_ckpt}
    extra = ["logger.mode=disabled", f"seed={args.seed}", *(TINY if args.tiny else [])]
    ckpts = {name: given[name] or train_experiment("claims_cyclegan", out, name.replace(" ", "_"), args.tiny,
                                                   with_args(extra, *overrides))
             for name, overrides in MODELS.items()}
    results, outputs, rows, images = {}, {}, [], None
    for name, ckpt in ckpts.items():
        model, datamodule = load_model(ckpt)
        if images is None:
            images = test_images(datamodule, 8 if args.tiny else None)
        results[name], outputs[name] = measure(model, images)
        c = model.cfg
        results[name]["lambda"] = c.lambda_A
        m = results[name]
        rows.append([name, f"{c.lambda_A:g}", f"{m['id_AtoB']:.2f}", f"{m['id_BtoA']:.2f}", f"{m['cycle_l1_A']:.3f}",
                     f"{m['cycle_l1_B']:.3f}", f"{m['l1_to_source_AtoB']:.3f}", f"{m['l1_to_source_BtoA']:.3f}"])
    n_a, n_b = len(images["A"]), len(images["B"])
    rows.append(["chance (a random guess)", "-", f"{1 / n_a:.2f}", f"{1 / n_b:.2f}", "-", "-", "-", "-"])
    rows.append(["identity map (no translation)", "-", "1.00", "1.00", "0", "0", "0", "0"])
    header = ["model", "cycle lambda", f"identified, photo -> Monet (of {n_a})",
              f"identified, Monet -> photo (of {n_b})", "cycle L1 photo", "cycle L1 Monet", "L1 to source, photo",
              "L1 to source, Monet"]
    size = images["A"].shape[-1]
    text = "\n".join([
        f"CycleGAN photo (A) <-> Monet (B), {size} px, resnet generator with {c.n_blocks} blocks, ngf {c.ngf}, ndf "
        f"{c.ndf}, no identity loss (claims_cyclegan); test split: {n_a} photos, {n_b} paintings. Identified: the "
        "translation's nearest test image of the source domain (pixel L2) is its own source.",
        f"checkpoints: {', '.join(f'{k}: {v}' for k, v in ckpts.items())}", "",
        markdown_table(header, rows), "", machine_line(args.threads, time.time() - start)])

    fig, axes = plt.subplots(2, 3, figsize=(15, 6))
    for row, (direction, side, label) in enumerate((("AtoB", "A", "photo"), ("BtoA", "B", "Monet"))):
        pictures = {f"test {label}s": images[side][:PANEL],
                    **{f"{name}: translated": outputs[name][direction][:PANEL] for name in ckpts}}
        for ax, (title, x) in zip(axes[row], pictures.items(), strict=True):
            ax.imshow(image_grid(x, (-1.0, 1.0), nrow=3).permute(1, 2, 0).numpy())
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.suptitle("Claim 4: the same test images translated by a CycleGAN trained with and without the cycle loss")
    fig.tight_layout()
    write_outputs(out, text, fig, {"image_size": size, "test_photos": n_a, "test_paintings": n_b,
                                   "checkpoints": {k: str(v) for k, v in ckpts.items()}, "models": results})


if __name__ == "__main__":
    main()
