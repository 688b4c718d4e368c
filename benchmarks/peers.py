"""Peers: the code a user would otherwise copy, trained under genlab's CPU-time budget and scored by genlab's metrics.

    PYTHONPATH=. python benchmarks/peers.py --peer dcgan --eval-at 10 20 30 --threads 1

Written here from the published definitions (the architectures, hyperparameters and update order of each
example), as plain PyTorch loops:

- ``dcgan``: pytorch/examples ``dcgan/main.py`` at its defaults with ``--dataset mnist``: 64 px (MNIST resized
  28 -> 64, bilinear, pixels in [-1, 1]), nz 100, ngf = ndf = 64, batch 64, Adam 2e-4 (0.5, 0.999), N(0, 0.02)
  weights, BCE on D's sigmoid, per batch one D step (real, then G(z) detached) and one G step on the same G(z).
  Its 64 px samples are scored at 28 px: bilinear with antialiasing back down (the inverse of the resize its
  data went through), which the classifier's features see as MNIST digits (the ``resize floor`` line of the
  output scores real test digits sent 28 -> 64 -> 28 against the originals).
- ``lightning_gan``: Lightning's ``examples/pytorch/domain_templates/generative_adversarial_net.py``: MLP G
  100-128-256-512-1024-784 (BatchNorm1d with eps 0.8, LeakyReLU 0.2, tanh), MLP D 784-512-256-1, BCE on logits,
  Adam 2e-4 (0.5, 0.999), batch 32 (its ``MNISTDataModule``: pixels in [0, 1], not normalized, while G's tanh
  reaches -1), per batch a G step, then a D step on the real batch and G(z) of the same z. Its samples are read
  in its data's range: clamped to [0, 1].
- ``vae``: pytorch/examples ``vae/main.py``: MLP 784-400-(20, 20) / 20-400-784, ReLU, sigmoid output, loss BCE
  summed over pixels and batch + analytic KL, Adam 1e-3, batch 128. It trains on genlab's data, dynamically
  binarized MNIST (the example reads grey levels as Bernoulli targets, which is not a likelihood), and is scored
  by genlab's importance-weighted bound (k = ``--iw-samples``) on genlab's binarized test split.

Training time is the process's CPU time from the first batch (``gan_recipes.CpuMarks``), as for genlab's recipes.
At each mark the networks are saved (``<out>/<peer>/t<M>min.pt``); after training each is scored with genlab's
functions: GANs by ``genlab.metrics.sample_metrics.SampleMetrics`` on the same images and noise seeds as
``scripts/evaluate.py`` (test split, ``--num-samples`` samples, the real-vs-real floor), G in eval mode; the VAE
by ``lightning_modules.importance_weighted.iw_log_likelihood``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from gan_recipes import CpuMarks
from machine import cpu_name
from torch import nn
from torch.utils.data import DataLoader, Subset

from datamodules.mnist import MNISTConfig, load_mnist_tensors
from genlab.metrics.mnist_classifier import load_classifier
from genlab.metrics.sample_metrics import SampleMetrics
from genlab.runner.config import compose
from genlab.runner.run.build import build_datamodule
from genlab.runner.run.classifier import ensure_classifier
from lightning_modules.gan import FLOOR_SEED, TEST_NOISE_SEED
from lightning_modules.importance_weighted import iw_log_likelihood
from lightning_modules.vae_losses import bernoulli_log_likelihood, gaussian_kl, reparameterize

LATENT = 100  # both GAN examples


# --- the peers' networks ----------------------------------------------------------------------------------------

class ExamplesDCGANGenerator(nn.Sequential):
    """z (N, nz, 1, 1) -> (N, 1, 64, 64): ConvTranspose 4x4 (stride 1, then 2) + BatchNorm + ReLU, tanh."""

    def __init__(self, nz: int = LATENT, ngf: int = 64):
        widths, layers = [nz, ngf * 8, ngf * 4, ngf * 2, ngf], []
        for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
            layers += [nn.ConvTranspose2d(a, b, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                       nn.BatchNorm2d(b), nn.ReLU(True)]
        super().__init__(*layers, nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), nn.Tanh())


class ExamplesDCGANDiscriminator(nn.Sequential):
    """(N, 1, 64, 64) -> D(x) in (0, 1), (N,): Conv 4x4 stride 2 + LeakyReLU 0.2 (BatchNorm from the second)."""

    def __init__(self, ndf: int = 64):
        widths, layers = [1, ndf, ndf * 2, ndf * 4, ndf * 8], []
        for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), *([nn.BatchNorm2d(b)] if i else []),
                       nn.LeakyReLU(0.2, inplace=True)]
        super().__init__(*layers, nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(), nn.Flatten(0))


def dcgan_init_(module: nn.Module) -> None:
    """The example's ``weights_init``: conv weights N(0, 0.02), BatchNorm scale N(1, 0.02) and shift 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class LightningGenerator(nn.Sequential):
    """z (N, 100) -> (N, 1, 28, 28): Linear blocks 128-256-512-1024 (BatchNorm1d eps 0.8 from the second block,
    LeakyReLU 0.2), Linear to 784, tanh."""

    def __init__(self, latent_dim: int = LATENT):
        widths, layers = [latent_dim, 128, 256, 512, 1024], []
        for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
            layers += [nn.Linear(a, b), *([nn.BatchNorm1d(b, 0.8)] if i else []), nn.LeakyReLU(0.2, inplace=True)]
        super().__init__(*layers, nn.Linear(1024, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))


class LightningDiscriminator(nn.Sequential):
    """(N, 1, 28, 28) -> a logit per image, (N, 1): 784-512-256-1 with LeakyReLU 0.2."""

    def __init__(self):
        super().__init__(nn.Flatten(), nn.Linear(784, 512), nn.LeakyReLU(0.2, inplace=True), nn.Linear(512, 256),
                         nn.LeakyReLU(0.2, inplace=True), nn.Linear(256, 1))


class ExamplesVAE(nn.Module):
    """fc1 784 -> 400, fc21/fc22 400 -> 20 (mean, log-variance), fc3 20 -> 400, fc4 400 -> 784, ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.fc1(x.flatten(1)))
        return self.fc21(h), self.fc22(h)

    def decoder_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid outputs, (..., 1, 28, 28): the example's sigmoid + BCE is BCE on these logits."""
        return self.fc4(F.relu(self.fc3(z))).unflatten(-1, (1, 28, 28))


# --- the peers' training steps ----------------------------------------------------------------------------------

class DCGANPeer:
    batch_size, drop_last, kind = 64, False, "gan"

    def __init__(self):
        self.g, self.d = ExamplesDCGANGenerator(), ExamplesDCGANDiscriminator()
        self.g.apply(dcgan_init_)
        self.d.apply(dcgan_init_)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.nets = {"generator": self.g, "discriminator": self.d}

    @staticmethod
    def batch(images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 28, 28) -> (B, 1, 64, 64) in [-1, 1]: ``Resize(64)``, ``ToTensor``, ``Normalize(0.5, 0.5)``."""
        x = F.interpolate(images[:, None].float() / 255, size=64, mode="bilinear", antialias=True)
        return x * 2 - 1

    def step(self, real: torch.Tensor) -> None:
        ones, zeros = torch.ones(len(real)), torch.zeros(len(real))
        self.d.zero_grad()
        fake = self.g(torch.randn(len(real), LATENT, 1, 1))
        # the example backpropagates the real and the fake term one after the other: the same gradient as their sum
        d_loss = F.binary_cross_entropy(self.d(real), ones) + F.binary_cross_entropy(self.d(fake.detach()), zeros)
        d_loss.backward()
        self.opt_d.step()
        self.g.zero_grad()
        F.binary_cross_entropy(self.d(fake), ones).backward()
        self.opt_g.step()

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1]."""
        x = self.g(z[:, :, None, None])
        return F.interpolate(x, size=28, mode="bilinear", antialias=True).clamp(-1, 1)


class LightningGANPeer:
    batch_size, drop_last, kind = 32, True, "gan"

    def __init__(self):
        self.g, self.d = LightningGenerator(), LightningDiscriminator()
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.nets = {"generator": self.g, "discriminator": self.d}

    @staticmethod
    def batch(images: torch.Tensor) -> torch.Tensor:
        return images[:, None].float() / 255  # ToTensor, no normalization (the example's MNISTDataModule)

    def step(self, real: torch.Tensor) -> None:
        ones, zeros = torch.ones(len(real), 1), torch.zeros(len(real), 1)
        z = torch.randn(len(real), LATENT)
        self.d.requires_grad_(False)  # Lightning's toggle_optimizer: only the stepped network's weights get grads
        g_loss = F.binary_cross_entropy_with_logits(self.d(self.g(z)), ones)
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        self.d.requires_grad_(True)
        with torch.no_grad():  # a second G(z), as the example computes it, without a graph (it is detached)
            fake = self.g(z)
        d_loss = (F.binary_cross_entropy_with_logits(self.d(real), ones)
                  + F.binary_cross_entropy_with_logits(self.d(fake), zeros)) / 2
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1]: G's output read in its data's range [0, 1], then mapped like genlab's data."""
        return self.g(z).clamp(0, 1) * 2 - 1


class VAEPeer:
    batch_size, drop_last, kind = 128, False, "vae"

    def __init__(self):
        self.vae = ExamplesVAE()
        self.opt = torch.optim.Adam(self.vae.parameters(), lr=1e-3)
        self.nets = {"vae": self.vae}

    @staticmethod
    def batch(images: torch.Tensor) -> torch.Tensor:
        return torch.bernoulli(images[:, None].float() / 255)  # genlab's dynamic binarization

    def step(self, x: torch.Tensor) -> None:
        mu, logvar = self.vae.posterior(x)
        logits = self.vae.decoder_logits(reparameterize(mu, logvar))
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") + gaussian_kl(mu, logvar).sum()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


PEERS = {"dcgan": DCGANPeer, "lightning_gan": LightningGANPeer, "vae": VAEPeer}
# What each peer stands beside in genlab (the experiment of the comparison table).
GENLAB_COUNTERPART = {"dcgan": "gan_mnist", "lightning_gan": "gan_mnist", "vae": "vae_mnist"}


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- training under a CPU-time budget ---------------------------------------------------------------------------

def epochs(images: torch.Tensor, batch_size: int, drop_last: bool, seed: int) -> Iterator[torch.Tensor]:
    """Endless shuffled epochs of ``images`` (a new order each epoch), as a shuffling DataLoader gives them."""
    order_rng = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(images), generator=order_rng)
        end = len(order) // batch_size * batch_size if drop_last else len(order)
        for start in range(0, end, batch_size):
            yield images[order[start:start + batch_size]]


def train_peer(name: str, marks: list[float], out: Path, seed: int = 0) -> dict[float, tuple[Path, int]]:
    """Train peer ``name`` on the 60,000 MNIST training images (Lightning's example holds 5,000 out for a
    validation it never uses for the GAN) until the last CPU-time mark; at each mark save its networks; returns
    {mark: (file, batches trained)}."""
    torch.manual_seed(seed)
    peer = PEERS[name]()
    images, _ = load_mnist_tensors(MNISTConfig(), train=True)
    clock, saved, batches = CpuMarks(marks), {}, 0
    out.mkdir(parents=True, exist_ok=True)
    for raw in epochs(images, peer.batch_size, peer.drop_last, seed):
        clock.begin()
        peer.step(peer.batch(raw))
        batches += 1
        for mark in clock.due():
            path = out / f"t{mark:g}min.pt"
            torch.save({k: net.state_dict() for k, net in peer.nets.items()}, path)
            saved[mark] = (path, batches)
            print(f"{name}: {mark:g} CPU-minutes, {batches} batches -> {path}", flush=True)
        if clock.done:
            return saved
    raise AssertionError("unreachable: the epochs never end")


def load_peer(name: str, path: Path):
    peer = PEERS[name]()
    for key, state in torch.load(path, map_location="cpu", weights_only=True).items():
        peer.nets[key].load_state_dict(state)
        peer.nets[key].eval()
    return peer


# --- genlab's evaluation ----------------------------------------------------------------------------------------

def _chunks(total: int, size: int) -> Iterator[int]:
    for start in range(0, total, size):
        yield min(size, total - start)


@torch.no_grad()
def gan_scores(sample: Callable[[torch.Tensor], torch.Tensor], num_samples: int, classifier: Path,
               real_batches: int | None = None) -> dict[str, float]:
    """FID (and its real-vs-real floor), KID, IS, class coverage and KL of ``sample(z)`` (images in [-1, 1], 28
    or 32 px, for z (n, 100)) against the test split of ``experiment=gan_mnist``: the images, noise seeds and
    chunks of genlab's GAN test (``lightning_modules.gan``), so a genlab GAN scores here as in evaluate (the test
    suite checks it). ``real_batches`` limits the test images (Lightning's ``limit_test_batches``)."""
    cfg = compose(["experiment=gan_mnist"])
    datamodule = build_datamodule(cfg)
    datamodule.setup("fit")
    metrics = SampleMetrics(load_classifier(classifier)[0], tuple(cfg.data.value_range),
                            kid_subset_size=cfg.eval.kid_subset_size, kid_subsets=cfg.eval.kid_subsets)
    for i, (x, _) in enumerate(datamodule.test_dataloader()):
        if real_batches is not None and i == real_batches:
            break
        metrics.update_real(x)
    noise = torch.Generator().manual_seed(TEST_NOISE_SEED)
    for size in _chunks(num_samples, cfg.eval.batch_size):
        metrics.update_fake(sample(torch.randn(size, LATENT, generator=noise)))
    train_set = datamodule.train_set
    order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(FLOOR_SEED))[:num_samples]
    for x, _ in DataLoader(Subset(train_set, order.tolist()), batch_size=cfg.eval.batch_size):
        metrics.update_floor(x)
    return metrics.compute()


def resize_floor(classifier: Path) -> dict[str, float]:
    """The DCGAN peer's scoring path applied to real digits: test images 28 -> 64 -> 28 against the originals.
    FID near 0 means the round trip costs the 64 px peer nothing in these features."""
    images, _ = load_mnist_tensors(MNISTConfig(), train=False)
    round_trip = F.interpolate(DCGANPeer.batch(images), size=28, mode="bilinear", antialias=True).clamp(-1, 1)
    batches = iter(round_trip.split(256))
    return gan_scores(lambda z: next(batches), len(images), classifier)


@torch.no_grad()
def vae_scores(vae: ExamplesVAE, iw_samples: int, test_size: int, chunk: int = 100, seed: int = 0) -> dict:
    """-ELBO and the k-sample importance-weighted NLL (nats) on the first ``test_size`` images of genlab's
    binarized MNIST test split (``experiment=vae_mnist``, fixed by its seed), as the VAE's test step computes them."""
    cfg = compose(["experiment=vae_mnist", "data.batch_size=100"])
    datamodule = build_datamodule(cfg)
    datamodule.setup("test")
    torch.manual_seed(seed)
    nll, neg_elbo, seen = 0.0, 0.0, 0
    for x, _ in datamodule.test_dataloader():
        if seen >= test_size:
            break
        mu, logvar = vae.posterior(x)
        log_px, mean_ll = iw_log_likelihood(lambda z: bernoulli_log_likelihood(vae.decoder_logits(z), x),  # noqa: B023
                                            mu, logvar, iw_samples, chunk)
        nll -= log_px.sum().item()
        neg_elbo += (gaussian_kl(mu, logvar) - mean_ll).sum().item()
        seen += len(x)
    return {"nll_iw": nll / seen, "neg_elbo": neg_elbo / seen, "test_images": seen, "iw_samples": iw_samples}


def score(name: str, path: Path, args: argparse.Namespace) -> dict[str, float]:
    peer = load_peer(name, path)
    if peer.kind == "vae":
        return vae_scores(peer.vae, args.iw_samples, args.test_size)
    m = gan_scores(peer.sample, args.num_samples, args.classifier)
    return {**m, "fid_ratio": m["fid"] / m["fid_floor"]}


# --- command line -----------------------------------------------------------------------------------------------

def cell(m: dict) -> str:
    if "nll_iw" in m:
        return f"{m['nll_iw']:.2f} nats (-ELBO {m['neg_elbo']:.2f})"
    return f"{m['fid_ratio']:.2f}, {m['class_coverage']:.0f}/10, {m['class_kl']:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peer", action="append", required=True, choices=sorted(PEERS))
    parser.add_argument("--eval-at", type=float, nargs="+", default=[10, 20, 30], help="CPU-minutes of training")
    parser.add_argument("--num-samples", type=int, default=10000, help="GANs: generated digits per evaluation")
    parser.add_argument("--iw-samples", type=int, default=5000, help="VAE: importance samples k per test image")
    parser.add_argument("--test-size", type=int, default=10000, help="VAE: the first n test images")
    parser.add_argument("--classifier-ckpt", default=None, help="default: genlab's cached MNIST classifier")
    parser.add_argument("--resize-floor", action="store_true", help="also score the 28 -> 64 -> 28 round trip")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=f"runs/benchmarks/peers-{time.strftime('%Y%m%d-%H%M%S')}")
    parser.add_argument("--score-only", action="store_true",
                        help="no training: score the networks an earlier run saved under --out (batches unknown)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.classifier = Path(args.classifier_ckpt) if args.classifier_ckpt else ensure_classifier()
    load = os.getloadavg()[0]
    rows = []
    for name in args.peer:
        saved = ({m: (Path(args.out) / name / f"t{m:g}min.pt", "?") for m in args.eval_at} if args.score_only
                 else train_peer(name, args.eval_at, Path(args.out) / name))
        cells = []
        for mark in args.eval_at:
            path, batches = saved[mark]
            m = score(name, path, args)
            # a rescoring keeps the training run's own metrics file and names its evaluation
            tag = (f".k{args.iw_samples}_n{args.test_size}" if "nll_iw" in m else f".n{args.num_samples}") \
                if args.score_only else ""
            path.with_suffix(f"{tag}.metrics.json").write_text(json.dumps({**m, "batches": batches}, indent=2) + "\n")
            print(f"{name} at {mark:g} min: {json.dumps(m)}", flush=True)
            cells.append(f"{cell(m)} ({batches})")
        params = sum(parameter_count(net) for net in PEERS[name]().nets.values())
        rows.append(f"| {name} | {GENLAB_COUNTERPART[name]} | {params:,} | {' | '.join(cells)} |")
    print(f"\n{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, threads {args.threads}, "
          f"{time.strftime('%Y-%m-%d')}, load average at start {load:.1f}\n")
    heads = " | ".join(f"{m:g} CPU-min" for m in args.eval_at)
    print(f"| peer | against | parameters | {heads} |\n|---|---|---:|" + "---|" * len(args.eval_at))
    print("\n".join(rows))
    if args.resize_floor:
        m = resize_floor(args.classifier)
        print(f"\nresize floor (test digits 28 -> 64 -> 28 against the originals): FID {m['fid']:.3f}, "
              f"class KL {m['class_kl']:.4f}; floor of the same run {m['fid_floor']:.3f}")


if __name__ == "__main__":
    main()
