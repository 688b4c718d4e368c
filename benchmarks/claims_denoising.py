"""Claim 3: a denoising autoencoder removes noise that a plain autoencoder passes on.

    PYTHONPATH=. python benchmarks/claims_denoising.py [--ae-ckpt CKPT --dae-ckpt CKPT] [--tiny]

Trains ``experiment=claims_ae`` and ``experiment=claims_dae`` (the same network trained on inputs with Gaussian
noise, sigma 0.5, clipped to [0, 1]; or reuses the checkpoints given). At each test noise level sigma the test
digits get the same seeded noise (``lightning_modules.corruption.corrupt``, as in training); the table gives the
MSE to the clean digits of the noisy input itself (the identity baseline), of the plain AE's output and of the
denoising AE's output. The figure shows the same digits at every level.
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from claims_common import (
    batched,
    machine_line,
    markdown_table,
    mnist_split,
    parser,
    reuse_options,
    reused_or_trained,
    setup,
    write_outputs,
)

from genlab.callbacks.images import image_grid
from lightning_modules.corruption import corrupt

NAME = "denoising"


def main() -> None:
    p = parser(__doc__, NAME)
    reuse_options(p, "ae", "dae")
    p.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5, 0.75, 1.0],
                   help="test noise levels (standard deviation of the Gaussian noise, pixels in [0, 1])")
    args = p.parse_args()
    out = setup(args, NAME)
    start = time.time()
    ae_ckpt, ae, datamodule = reused_or_trained(args, out, "ae")
    dae_ckpt, dae, _ = reused_or_trained(args, out, "dae")
    test_x, _ = mnist_split(datamodule, "test", limit=500 if args.tiny else None)

    rows, results, strips = [], {}, []
    for sigma in args.sigmas:
        noisy = corrupt(test_x, "gaussian", sigma, generator=torch.Generator().manual_seed(args.seed))
        outputs = {"identity": noisy, "plain AE": batched(ae, noisy), "denoising AE": batched(dae, noisy)}
        mse = {k: F.mse_loss(v, test_x).item() for k, v in outputs.items()}
        results[str(sigma)] = mse
        rows.append([f"{sigma:g}", f"{mse['identity']:.4f}", f"{mse['plain AE']:.4f}", f"{mse['denoising AE']:.4f}",
                     f"{mse['denoising AE'] / mse['identity']:.2f}" if mse["identity"] > 0 else "-",
                     f"{mse['denoising AE'] / mse['plain AE']:.2f}"])
        strips.append({k: image_grid(v[:8], (0.0, 1.0), nrow=8) for k, v in outputs.items()})

    header = ["test noise sigma", "identity MSE", "plain AE MSE", "denoising AE MSE", "DAE / identity", "DAE / AE"]
    trained = dae.cfg.corruption_level
    text = "\n".join([
        f"MSE to the clean test digits ({len(test_x)} images, pixels in [0, 1]) of the noisy input (identity), the "
        f"plain AE (claims_ae) and the denoising AE (claims_dae, trained at sigma {trained:g}); Gaussian noise, "
        "clipped to [0, 1].", f"checkpoints: AE {ae_ckpt}, DAE {dae_ckpt}", "",
        markdown_table(header, rows), "", machine_line(args.threads, time.time() - start)])

    fig, axes = plt.subplots(len(args.sigmas), 3, figsize=(15, 1.1 * len(args.sigmas) + 0.8), squeeze=False)
    for i, (sigma, strip) in enumerate(zip(args.sigmas, strips, strict=True)):
        for j, (name, grid) in enumerate(strip.items()):
            ax = axes[i, j]
            ax.imshow(grid.permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{'noisy input' if name == 'identity' else name}: MSE {results[str(sigma)][name]:.4f}",
                         fontsize=8)
            if j == 0:
                ax.set_ylabel(f"sigma {sigma:g}", fontsize=9)
    fig.suptitle(f"Claim 3: denoising (the denoising AE was trained at sigma {trained:g})")
    fig.tight_layout()
    write_outputs(out, text, fig, {"trained_sigma": trained, "test_images": len(test_x), "ae_ckpt": str(ae_ckpt),
                                   "dae_ckpt": str(dae_ckpt), "mse": results})


if __name__ == "__main__":
    main()
