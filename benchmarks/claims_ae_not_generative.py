"""Claim 1: a plain autoencoder is not a generative model; a VAE of the same size is.

    PYTHONPATH=. python benchmarks/claims_ae_not_generative.py [--ae-ckpt CKPT --vae-ckpt CKPT] [--tiny]

Trains ``experiment=claims_ae`` and ``experiment=claims_vae`` (or reuses the checkpoints given), then decodes
codes drawn three ways: from a Gaussian fitted to the AE's training codes (full covariance), uniformly in their
bounding box, and from the VAE's N(0, I) prior; the AE's reconstructions of test digits are the control (codes
where data lies). Each set is scored against the test digits in the MNIST classifier's feature space: FID
beside the real-vs-real floor, mean top-class confidence, class coverage and KL to uniform, and how far the
codes lie from the nearest training code (median, relative to the test codes' own median distance).
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import torch
from claims_common import (
    batched,
    fit_gaussian,
    machine_line,
    markdown_table,
    mean_confidence,
    mnist_classifier,
    mnist_split,
    nearest_distances,
    parser,
    pca,
    reuse_options,
    reused_or_trained,
    sample_box,
    sample_gaussian,
    setup,
    write_outputs,
)

from genlab.callbacks.images import image_grid
from genlab.metrics.sample_metrics import SampleMetrics

NAME = "ae_not_generative"


def score(classifier, fake: torch.Tensor, real: torch.Tensor, floor: torch.Tensor) -> dict[str, float]:
    metrics = SampleMetrics(classifier, (0.0, 1.0), kid=False)
    for x in real.split(1000):
        metrics.update_real(x)
    for x in floor.split(1000):
        metrics.update_floor(x)
    for x in fake.split(1000):
        metrics.update_fake(x)
    out = metrics.compute()
    out["confidence"] = mean_confidence(batched(metrics.classifier.probabilities, fake))
    return out


def scatter(ax, codes: torch.Tensor, labels: torch.Tensor, samples: torch.Tensor | None, title: str) -> None:
    """Codes projected on their first two principal directions (as they are when 2-D), coloured by digit."""
    mean, basis = pca(codes, 2)
    xy = (codes - mean) @ basis.T if codes.shape[1] > 2 else codes
    points = ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab10", s=2, alpha=0.6, vmin=-0.5, vmax=9.5)
    if samples is not None:
        s = (samples - mean) @ basis.T if codes.shape[1] > 2 else samples
        ax.scatter(s[:, 0], s[:, 1], c="black", marker="x", s=6, linewidths=0.5, label="Gaussian-fitted samples")
        ax.legend(loc="lower right", fontsize=7, markerscale=2)
    ax.set_title(title, fontsize=9)
    ax.figure.colorbar(points, ax=ax, ticks=range(10), fraction=0.046)


def main() -> None:
    p = parser(__doc__, NAME)
    reuse_options(p, "ae", "vae")
    p.add_argument("--classifier-ckpt", help="MNIST classifier checkpoint (default: the project's cached one)")
    p.add_argument("--samples", type=int, default=5000, help="images per scored set (tiny: 200)")
    args = p.parse_args()
    out = setup(args, NAME)
    start = time.time()
    n = 200 if args.tiny else args.samples
    ae_ckpt, ae, datamodule = reused_or_trained(args, out, "ae")
    vae_ckpt, vae, _ = reused_or_trained(args, out, "vae")
    classifier = mnist_classifier(args.classifier_ckpt)

    train_x, train_y = mnist_split(datamodule, "train", limit=2000 if args.tiny else None)
    test_x, test_y = mnist_split(datamodule, "test", limit=n)
    gen = torch.Generator().manual_seed(args.seed)
    floor = train_x[torch.randperm(len(train_x), generator=gen)[:n]]
    ae_codes, vae_means = batched(ae.encode, train_x), batched(vae.encode, train_x)
    refs = {"ae": ae_codes[:10000], "vae": vae_means[:10000]}
    test_codes = {"ae": batched(ae.encode, test_x), "vae": batched(vae.encode, test_x)}
    baseline = {k: float(nearest_distances(test_codes[k], refs[k]).median()) for k in refs}

    gaussian_codes = sample_gaussian(*fit_gaussian(ae_codes), n, gen)
    sets = {  # name -> (model key, codes, decoder)
        "AE, codes of test digits (reconstructions; control)": ("ae", test_codes["ae"], ae.decode),
        "AE, Gaussian fitted to training codes": ("ae", gaussian_codes, ae.decode),
        "AE, uniform in the codes' bounding box": ("ae", sample_box(ae_codes, n, gen), ae.decode),
        "VAE, prior N(0, I)": ("vae", torch.randn(n, vae.cfg.latent_dim, generator=gen), vae.decode),
    }
    rows, results, grids = [], {}, {}
    for name, (key, codes, decode) in sets.items():
        images = batched(decode, codes)
        m = score(classifier, images, test_x, floor)
        m["code_distance_ratio"] = float(nearest_distances(codes, refs[key]).median()) / baseline[key]
        results[name] = m
        grids[name] = image_grid(images[:64], (0.0, 1.0))
        rows.append([name, f"{m['fid']:.2f}", f"{m['fid_floor']:.2f}", f"{m['fid'] / m['fid_floor']:.1f}",
                     f"{m['confidence']:.3f}", f"{m['class_coverage']:.0f}/10", f"{m['class_kl']:.3f}",
                     f"{m['classifier_is']:.2f}", f"{m['code_distance_ratio']:.2f}"])

    latent = ae.cfg.latent_dim
    header = ["decoded codes", "FID", "floor", "FID/floor", "confidence", "coverage", "class KL", "IS",
              "code distance ratio"]
    text = "\n".join([
        f"MLP autoencoder and VAE 784-512-256-{latent} on grey-level MNIST (claims_ae, claims_vae); {n} images per "
        f"set against {n} test digits; features of the MNIST classifier; code distance ratio = median distance to "
        f"the nearest of {len(refs['ae'])} training codes / the same for test-digit codes.",
        f"checkpoints: AE {ae_ckpt}, VAE {vae_ckpt}", "",
        markdown_table(header, rows), "", machine_line(args.threads, time.time() - start)])

    fig, axes = plt.subplots(2, 3, figsize=(15, 10))
    labels = train_y[:5000]
    scatter(axes[0, 0], ae_codes[:5000], labels, gaussian_codes[:1000],
            f"AE training codes ({latent}-D{', first 2 principal axes' if latent > 2 else ''})")
    scatter(axes[1, 0], vae_means[:5000], labels, None,
            f"VAE posterior means ({latent}-D{', first 2 principal axes' if latent > 2 else ''})")
    for ax, name in zip([axes[0, 1], axes[0, 2], axes[1, 1], axes[1, 2]],
                        [list(sets)[i] for i in (1, 2, 3, 0)], strict=True):
        m = results[name]
        ax.imshow(grids[name].permute(1, 2, 0).numpy())
        ax.set_title(f"{name}\nFID/floor {m['fid'] / m['fid_floor']:.1f}, confidence {m['confidence']:.2f}",
                     fontsize=9)
        ax.axis("off")
    fig.suptitle("Claim 1: decoded samples of a plain AE's codes and of a VAE's prior (x: Gaussian-fitted AE codes)")
    results = {"samples": n, "latent_dim": latent, "ae_ckpt": str(ae_ckpt), "vae_ckpt": str(vae_ckpt),
               "rows": results}
    write_outputs(out, text, fig, results)


if __name__ == "__main__":
    main()
