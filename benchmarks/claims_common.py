"""Shared parts of the ``benchmarks/claims_*.py`` experiments: training through genlab's real path, loading the
trained models back, the MNIST classifier, reading logged scalars, and small pure functions (sampling codes,
PCA, nearest neighbours, the linear probe, code sizes, Markdown tables).

Each claim script writes ``table.md`` (also printed), ``figure.png`` and ``results.json`` into ``--out``; training
runs go to ``<out>/runs/<name>``, fresh folders, so one invocation never touches another's files.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from machine import cpu_name  # noqa: E402
from pytorch_lightning.callbacks import ModelCheckpoint  # noqa: E402

from genlab.core.saved import read_checkpoint_config  # noqa: E402
from genlab.metrics.mnist_classifier import load_classifier  # noqa: E402
from genlab.runner.cli import with_args  # noqa: E402
from genlab.runner.config import compose, compose_from_saved  # noqa: E402
from genlab.runner.run.build import build_datamodule, build_model  # noqa: E402
from genlab.runner.run.classifier import ensure_classifier  # noqa: E402
from genlab.runner.run.train import train  # noqa: E402

# Tiny mode (the test suite): a handful of batches per stage, so every script finishes in seconds.
TINY_TRAINER = ["trainer.max_epochs=1", "trainer.limit_train_batches=3", "trainer.limit_val_batches=1",
                "trainer.limit_test_batches=0", "trainer.num_sanity_val_steps=0", "trainer.log_every_n_steps=1"]
QUIET = ["trainer.accelerator=cpu", "trainer.devices=1", "trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false", "callbacks.images=[]"]


# --- command line, machine, outputs ---------------------------------------------------------------------------

def parser(doc: str, name: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="a few batches per model (the test suite's mode)")
    p.add_argument("--out", default=None, help=f"output folder (default runs/claims/{name}/<time>)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps a shared machine fair)")
    p.add_argument("--seed", type=int, default=0)
    return p


def setup(args: argparse.Namespace, name: str) -> Path:
    torch.set_num_threads(args.threads)
    out = Path(args.out or f"runs/claims/{name}/{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    return out


def machine_line(threads: int, seconds: float) -> str:
    load = os.getloadavg()[0]
    return (f"machine: {cpu_name()}, {os.cpu_count()} cores, CPU only, torch {torch.__version__}, torch threads "
            f"{threads}, 1-min load average {load:.1f} at the end; wall time {seconds:.0f} s")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> str:
    """A Markdown table; columns from ``numeric_from`` on are right-aligned."""
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_outputs(out: Path, text: str, figure, results: dict) -> None:
    """``table.md`` (and stdout), ``figure.png`` and ``results.json`` (the numbers, for docs/claims.md)."""
    print(text)
    (out / "table.md").write_text(text + "\n")
    figure.savefig(out / "figure.png", dpi=110, bbox_inches="tight")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out / 'table.md'}, {out / 'figure.png'}, {out / 'results.json'}")


# --- training and loading through genlab ----------------------------------------------------------------------

def train_experiment(experiment: str, out: Path, name: str, tiny: bool, overrides: Sequence[str] = ()) -> Path:
    """Train ``experiment`` with genlab (compose + train) into ``<out>/runs/<name>``; returns its checkpoint
    (the best one by the experiment's monitor when it keeps one, else last.ckpt)."""
    cfg = compose(with_args([f"experiment={experiment}", f"run_dir={out / 'runs' / name}", *QUIET,
                             *(TINY_TRAINER if tiny else [])], *overrides))
    result = train(cfg)
    # the best-model file is a ModelCheckpoint's; without a monitor the run keeps only genlab's LatestCheckpoint
    best = next((c.best_model_path for c in result.trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)),
                "")
    return Path(best or result.run_dir / "checkpoints" / "last.ckpt")


def reuse_options(p: argparse.ArgumentParser, *names: str) -> None:
    """``--<name>-ckpt`` for each claims model a script needs: reuse a trained checkpoint instead of training."""
    for name in names:
        p.add_argument(f"--{name}-ckpt", help=f"reuse a trained claims_{name} checkpoint instead of training one")


def reused_or_trained(args: argparse.Namespace, out: Path, name: str):
    """The checkpoint of ``claims_<name>`` given on the command line or trained now, and its model and data."""
    ckpt = getattr(args, f"{name}_ckpt") or train_experiment(f"claims_{name}", out, name, args.tiny,
                                                             ["logger.mode=disabled"])
    return (ckpt, *load_model(ckpt))


def load_model(ckpt: str | Path):
    """The model of a genlab checkpoint (eval mode, CPU) and its datamodule, rebuilt from the saved config."""
    cfg = compose_from_saved(read_checkpoint_config(ckpt), [])
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    model.load_state_dict(torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"])
    return model.eval().requires_grad_(False), datamodule


def mnist_split(datamodule, split: str, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Grey-level images (N, 1, 28, 28) in [0, 1] and labels of a split ("train" or "test") of the MNIST
    datamodule; the first ``limit`` images when given."""
    datamodule.setup("fit")
    dataset = datamodule.train_set if split == "train" else datamodule.test_set
    images, labels = dataset.images[:limit], dataset.labels[:limit]
    return images.unsqueeze(1).float() / 255.0, labels


@torch.no_grad()
def batched(fn, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def mnist_classifier(ckpt: str | None):
    """The MNIST classifier behind FID/confidence/coverage: ``ckpt`` when given, else the project's default one
    (trained once and cached). The one place the claims get it from."""
    return load_classifier(ckpt or ensure_classifier())[0]


def read_scalars(run_dir: str | Path, keys: Sequence[str]) -> dict[str, tuple[list[float], list[float]]]:
    """(steps, values) of each logged scalar ``key`` of a run, in logging order, from the run's CSV copy
    (``<run>/csv/version_*/metrics.csv``, which every genlab run writes beside W&B). Steps count batches."""
    run_dir = Path(run_dir)
    rows = []
    csv_files = sorted(run_dir.glob("csv/version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[1]))
    for path in csv_files:
        with path.open(newline="") as f:
            rows += [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]
    if not csv_files:
        raise FileNotFoundError(f"{run_dir} holds no csv/version_*/metrics.csv: not a genlab run folder")
    out = {}
    for key in keys:
        pairs = [(row["step"], row[key]) for row in rows if key in row and "step" in row]
        out[key] = ([float(s) for s, _ in pairs], [float(v) for _, v in pairs])
    return out


# --- pure functions ---------------------------------------------------------------------------------------------

def fit_gaussian(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance (full, unbiased) of codes (N, d)."""
    mean = codes.mean(0)
    centred = codes - mean
    return mean, centred.T @ centred / (len(codes) - 1)


def sample_gaussian(mean: torch.Tensor, cov: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    # a tiny jitter keeps the Cholesky factor defined when a code dimension is (nearly) constant
    chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(len(mean)))
    return mean + torch.randn(n, len(mean), generator=generator) @ chol.T


def sample_box(codes: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform in the bounding box of codes (N, d): each coordinate between its min and max."""
    lo, hi = codes.min(0).values, codes.max(0).values
    return lo + (hi - lo) * torch.rand(n, codes.shape[1], generator=generator)


def pca(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and the top-``k`` principal directions (k, D) of rows x (N, D)."""
    mean = x.mean(0)
    _, _, v = torch.linalg.svd(x - mean, full_matrices=False)
    return mean, v[:k]


def nearest_distances(queries: torch.Tensor, refs: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Euclidean distance from each query row to its nearest row of ``refs``."""
    return torch.cat([torch.cdist(queries[i:i + chunk], refs).min(1).values for i in range(0, len(queries), chunk)])


def identification_rate(outputs: torch.Tensor, sources: torch.Tensor) -> float:
    """Fraction of outputs whose nearest source (Euclidean, flattened) is their own: output i came from source i.
    Chance is 1 / N; a translation that keeps the content of its input scores near 1."""
    d = torch.cdist(outputs.flatten(1).double(), sources.flatten(1).double())
    return float((d.argmin(1) == torch.arange(len(outputs))).double().mean())


def standardize(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Zero mean, unit variance per feature, with the statistics of ``train`` (constant features stay 0)."""
    mean, std = train.mean(0), train.std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return [(t - mean) / std for t in (train, *others)]


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                 num_classes: int, l2: float = 1e-3, steps: int = 200) -> float:
    """Test accuracy of multinomial logistic regression (softmax, L2 penalty ``l2`` on the weights) fitted with
    full-batch L-BFGS on standardized features. One setting for every feature set, so they compare fairly."""
    train_x, test_x = standardize(train_x.double(), test_x.double())
    weight = torch.zeros(train_x.shape[1], num_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(train_x @ weight + bias, train_y) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return float(((test_x @ weight + bias).argmax(1) == test_y).double().mean())


def code_bytes(dims: int, dtype: torch.dtype) -> int:
    """Bytes per image of a code of ``dims`` numbers stored as ``dtype``."""
    return dims * torch.empty((), dtype=dtype).element_size()


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def mean_confidence(probs: torch.Tensor) -> float:
    """Mean over images of the classifier's top class probability: near 1 for clear digits."""
    return float(probs.max(1).values.double().mean())


def stratified_subset(labels: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` random indices with (as nearly as possible) equal counts per class."""
    classes = labels.unique()
    picks = []
    for i, c in enumerate(classes.tolist()):
        members = (labels == c).nonzero().flatten()
        count = n // len(classes) + (i < n % len(classes))
        picks.append(members[torch.randperm(len(members), generator=generator)[:count]])
    return torch.cat(picks)


def window_mean(values: Sequence[float], fraction: float, last: bool) -> float:
    """Mean of the first (or the last) ``fraction`` of ``values``; at least one value."""
    k = max(1, round(len(values) * fraction))
    part = values[-k:] if last else values[:k]
    return sum(part) / len(part)
