"""Claim 5: the GAN game approaches its equilibrium D(x) = D(G(z)) = 1/2; the original minimax loss saturates.

    PYTHONPATH=. python benchmarks/claims_gan_game.py [--runs NON_SATURATING_RUN MINIMAX_RUN] [--tiny]

Trains ``experiment=claims_gan`` (the default DCGAN recipe, non-saturating generator loss) and the same with
``model.loss=minimax`` (G minimizes log(1 - D(G(z)))), everything else equal, or reads the run folders given.
The curves are what the runs logged: ``train/D_x`` and ``train/D_G_z`` (D's mean probability of "real" on a
real and a generated batch) and ``train/g_grad_norm`` (the norm of G's gradient before each step), read back
from the run folder (``claims_common.read_scalars``). The table compares the first and last tenth of training.
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib.pyplot as plt
from claims_common import (
    machine_line,
    markdown_table,
    parser,
    read_scalars,
    setup,
    train_experiment,
    window_mean,
    write_outputs,
)

NAME = "gan_game"
LOSSES = ("non_saturating", "minimax")
KEYS = ("train/D_x", "train/D_G_z", "train/g_grad_norm")
TINY = ["max_batches=6", "trainer.limit_val_batches=0", "model.ngf=8", "model.ndf=8"]  # no validation, as in full


def main() -> None:
    p = parser(__doc__, NAME)
    p.add_argument("--runs", nargs=2, metavar=("NON_SATURATING", "MINIMAX"),
                   help="reuse two finished run folders (claims_gan as is, and with model.loss=minimax)")
    p.add_argument("--classifier-ckpt", help="eval.classifier_ckpt of the runs (the GAN's metrics classifier; "
                                             "default: the project's cached one)")
    args = p.parse_args()
    out = setup(args, NAME)
    start = time.time()
    runs = {}
    for i, loss in enumerate(LOSSES):
        if args.runs:
            runs[loss] = Path(args.runs[i])
        else:
            # the W&B run (offline without credentials) is where the logged scalars are read back from
            classifier = [f"eval.classifier_ckpt={args.classifier_ckpt}"] if args.classifier_ckpt else []
            train_experiment("claims_gan", out, loss, args.tiny, [f"model.loss={loss}", "logger.mode=offline",
                                                                  f"seed={args.seed}", *classifier,
                                                                  *(TINY if args.tiny else [])])
            runs[loss] = out / "runs" / loss
    curves = {loss: read_scalars(run, KEYS) for loss, run in runs.items()}

    rows, results = [], {}
    for loss, c in curves.items():
        r = {}
        for key in KEYS:
            steps, values = c[key]
            if not values:
                raise SystemExit(f"run {runs[loss]} logged no {key}; was it trained with logging on?")
            r[key] = {"start": window_mean(values, 0.1, last=False), "end": window_mean(values, 0.1, last=True),
                      "points": len(values), "last_step": steps[-1]}
        results[loss] = r
        dx, dgz, gn = (r[k] for k in KEYS)
        rows.append([loss, f"{int(dx['last_step'])}", f"{dx['start']:.3f} → {dx['end']:.3f}",
                     f"{dgz['start']:.3f} → {dgz['end']:.3f}", f"{abs(dx['end'] - 0.5) + abs(dgz['end'] - 0.5):.3f}",
                     f"{gn['start']:.3g} → {gn['end']:.3g}"])
    header = ["generator loss", "last logged step", "D(x): first → last tenth", "D(G(z)): first → last tenth",
              "distance to equilibrium at the end", "G gradient norm: first → last tenth"]
    text = "\n".join([
        "DCGAN on MNIST (claims_gan: 32 px, ngf = ndf = 32, Adam 2e-4 (0.5, 0.999), batch 128); D(x), D(G(z)) are D's "
        "mean sigmoid outputs on a real and a generated batch as logged during training; distance to equilibrium = "
        "|D(x) - 0.5| + |D(G(z)) - 0.5| over the last tenth.",
        f"runs: {', '.join(f'{k}: {v}' for k, v in runs.items())}", "",
        markdown_table(header, rows), "", machine_line(args.threads, time.time() - start)])

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for ax, loss in zip(axes[:2], LOSSES, strict=True):
        for key, label in (("train/D_x", "D(x), real"), ("train/D_G_z", "D(G(z)), generated")):
            ax.plot(*curves[loss][key], label=label, lw=1)
        ax.axhline(0.5, color="black", ls="--", lw=1, label="equilibrium 1/2")
        ax.set_ylim(0, 1)
        ax.set_xlabel("batch")
        ax.set_title(f"{loss} generator loss")
        ax.legend(fontsize=8)
    for loss in LOSSES:
        axes[2].plot(*curves[loss]["train/g_grad_norm"], label=loss, lw=1)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("batch")
    axes[2].set_title("generator gradient norm")
    axes[2].legend(fontsize=8)
    fig.suptitle("Claim 5: the GAN game, non-saturating against minimax generator loss")
    write_outputs(out, text, fig, {"runs": {k: str(v) for k, v in runs.items()}, "summary": results,
                                   "curves": {loss: {k: {"steps": s, "values": v} for k, (s, v) in c.items()}
                                              for loss, c in curves.items()}})


if __name__ == "__main__":
    main()
