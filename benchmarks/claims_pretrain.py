"""Claim 2: autoencoder features pretrain (few labels), and an autoencoder compresses.

    PYTHONPATH=. python benchmarks/claims_pretrain.py [--ae-ckpt CKPT --vae-ckpt CKPT] [--tiny]

Trains ``experiment=claims_ae`` and ``experiment=claims_vae`` (or reuses the checkpoints given). With 100 and
1,000 labelled training digits (equal counts per class, a new draw per seed), a linear classifier (multinomial
logistic regression, ``claims_common.linear_probe``) is fitted on four features of the same images: the AE's
codes, the VAE's posterior means, PCA with as many components (fitted on all training images, like the
autoencoders, without labels) and raw pixels; its accuracy on the test digits is the mean +- std over seeds.
The same table gives each feature as a compressed image: bytes per image of its code (float32, float16) and
the test MSE of the image rebuilt from that code (pixels in [0, 1]).
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from claims_common import (
    batched,
    code_bytes,
    linear_probe,
    machine_line,
    markdown_table,
    mean_std,
    mnist_split,
    parser,
    pca,
    reuse_options,
    reused_or_trained,
    setup,
    stratified_subset,
    write_outputs,
)

NAME = "pretrain"


def main() -> None:
    p = parser(__doc__, NAME)
    reuse_options(p, "ae", "vae")
    p.add_argument("--labels", type=int, nargs="+", default=[100, 1000], help="labelled training digits")
    p.add_argument("--seeds", type=int, default=5, help="draws of the labelled digits (tiny: 2)")
    p.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the linear probe (all features alike)")
    args = p.parse_args()
    out = setup(args, NAME)
    start = time.time()
    seeds = 2 if args.tiny else args.seeds
    ae_ckpt, ae, datamodule = reused_or_trained(args, out, "ae")
    vae_ckpt, vae, _ = reused_or_trained(args, out, "vae")
    latent = ae.cfg.latent_dim
    train_x, train_y = mnist_split(datamodule, "train", limit=3000 if args.tiny else None)
    test_x, test_y = mnist_split(datamodule, "test", limit=500 if args.tiny else None)
    pca_mean, basis = pca(train_x.flatten(1), latent)

    def pca_encode(x):
        return (x.flatten(1) - pca_mean) @ basis.T

    def pca_decode(z):
        return (z @ basis + pca_mean).clamp(0, 1).view(-1, 1, 28, 28)

    # name -> (encode, decode): the decoder rebuilds an image from a (possibly rounded) code
    features = {f"AE codes ({latent})": (ae.encode, ae.decode), f"VAE means ({latent})": (vae.encode, vae.decode),
                f"PCA ({latent})": (pca_encode, pca_decode), "raw pixels (784)": (lambda x: x.flatten(1), None)}
    results, rows = {}, []
    for name, (encode, decode) in features.items():
        train_f, test_f = batched(encode, train_x), batched(encode, test_x)
        accuracy = {}
        for n in args.labels:
            runs = []
            for seed in range(args.seed, args.seed + seeds):
                idx = stratified_subset(train_y, n, torch.Generator().manual_seed(seed))
                runs.append(linear_probe(train_f[idx], train_y[idx], test_f, test_y, 10, args.l2))
            accuracy[n] = {"runs": runs, "mean": mean_std(runs)[0], "std": mean_std(runs)[1]}
        entry = {"dims": train_f.shape[1], "accuracy": accuracy}
        if decode is None:  # MNIST pixels are bytes: stored as they are, nothing is lost
            entry["storage"] = {"uint8": {"bytes": code_bytes(train_f.shape[1], torch.uint8), "mse": 0.0}}
        else:
            entry["storage"] = {
                str(dtype).removeprefix("torch."): {
                    "bytes": code_bytes(latent, dtype),
                    "mse": F.mse_loss(batched(decode, test_f.to(dtype).float()), test_x).item()}
                for dtype in (torch.float32, torch.float16)}
        results[name] = entry
        acc = [f"{100 * accuracy[n]['mean']:.1f} ± {100 * accuracy[n]['std']:.1f}" for n in args.labels]
        storage = [f"{s['bytes']} ({dtype}) / {s['mse']:.4f}" for dtype, s in entry["storage"].items()]
        rows.append([name, *acc, *(storage + ["-"] * (2 - len(storage)))])

    header = ["features (dims)", *[f"test accuracy %, {n} labels" for n in args.labels],
              "bytes/image / test MSE", "bytes/image / test MSE (float16)"]
    text = "\n".join([
        f"Linear probe (logistic regression, L2 {args.l2}, standardized features, L-BFGS) on {len(test_y)} test "
        f"digits; labelled training digits drawn per class, mean ± std over {seeds} seeds; the autoencoders and PCA "
        f"saw {len(train_y)} unlabelled training digits. MSE: image rebuilt from the stored code, pixels in [0, 1].",
        f"checkpoints: AE {ae_ckpt}, VAE {vae_ckpt}", "",
        markdown_table(header, rows), "", machine_line(args.threads, time.time() - start)])

    fig, (ax_acc, ax_mse) = plt.subplots(1, 2, figsize=(13, 4.5))
    width = 0.8 / len(features)
    for i, (name, entry) in enumerate(results.items()):
        means = [100 * entry["accuracy"][n]["mean"] for n in args.labels]
        stds = [100 * entry["accuracy"][n]["std"] for n in args.labels]
        ax_acc.bar([j + i * width for j in range(len(args.labels))], means, width, yerr=stds, capsize=3, label=name,
                   color=f"C{i}")
        for dtype, s in entry["storage"].items():
            ax_mse.scatter(s["bytes"], s["mse"], label=f"{name}, {dtype}", color=f"C{i}",
                           marker="s" if dtype == "float16" else "o")
    ax_acc.set_xticks([j + 0.4 - width / 2 for j in range(len(args.labels))], [f"{n} labels" for n in args.labels])
    ax_acc.set_ylabel("test accuracy % (mean ± std over seeds)")
    ax_acc.set_title("Linear classifier on frozen features")
    ax_acc.legend(fontsize=8)
    ax_mse.set_xscale("log")
    ax_mse.set_xticks([16, 32, 64, 128, 256, 784], ["16", "32", "64", "128", "256", "784"])
    ax_mse.minorticks_off()
    ax_mse.set_xlabel("bytes per image")
    ax_mse.set_ylabel("test MSE of the rebuilt image")
    ax_mse.set_title("Compression: code size against reconstruction error")
    ax_mse.legend(fontsize=7)
    fig.suptitle("Claim 2: autoencoder features with few labels, and as compressed images")
    write_outputs(out, text, fig, {"latent_dim": latent, "seeds": seeds, "l2": args.l2, "ae_ckpt": str(ae_ckpt),
                                   "vae_ckpt": str(vae_ckpt), "test_images": len(test_y), "features": results})


if __name__ == "__main__":
    main()
