"""Train and cache the MNIST classifier that FID/KID/IS use as their feature extractor.

The checkpoint is cached under ``$GENLAB_CACHE_DIR`` (default ``~/.cache/genlab``) in a file named after a
hash of the training config, so every project sharing a config shares one network and its metrics are
comparable. Training is seeded and single-process: a config always gives the same network on one machine.
``ensure_classifier`` holds a file lock beside the checkpoint while it trains, so of the processes that need it
at once (DDP ranks started by Lightning or torchrun, several runs) one trains and the others wait, then load.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from tqdm.auto import tqdm

from datamodules.mnist import MNISTConfig, load_mnist_tensors
from genlab.core.errors import ConfigError
from genlab.core.optim import adam
from genlab.core.schema import ClassifierConfig
from genlab.metrics.mnist_classifier import MNISTClassifier, build_classifier
from genlab.runner.run.classifier_cache import FORMAT_VERSION, cached_path


def parse_config(args: list[str]) -> ClassifierConfig:
    """``key=value`` overrides of the default ClassifierConfig; one-line ConfigError for a bad key or value."""
    try:
        node = OmegaConf.merge(OmegaConf.structured(ClassifierConfig), OmegaConf.from_dotlist(args))
        return OmegaConf.to_object(node)
    except ConfigError:
        raise
    except OmegaConfBaseException as e:
        valid = ", ".join(f"{k}={v!r}" for k, v in asdict(ClassifierConfig()).items())
        raise ConfigError(f"{str(e).splitlines()[0]}; valid keys (defaults): {valid}") from None


def _as_input(images: torch.Tensor) -> torch.Tensor:
    return images.unsqueeze(1).float() / 255.0


@torch.no_grad()
def accuracy(net: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction of uint8 (N, 28, 28) ``images`` classified as their label."""
    net.eval()
    correct = sum(int((net(_as_input(images[i:i + batch_size])).argmax(1) == labels[i:i + batch_size]).sum())
                  for i in range(0, len(labels), batch_size))
    return correct / len(labels)


def train_classifier(cfg: ClassifierConfig, data_root: str | Path | None = None,
                     log: Callable[[str], None] = print) -> tuple[MNISTClassifier, float]:
    """Train with Adam on the first ``cfg.train_size`` MNIST training images; returns the network (eval mode)
    and its accuracy on the 10,000 test images."""
    data = MNISTConfig(root=str(data_root) if data_root else None)
    images, labels = load_mnist_tensors(data, train=True)
    images, labels = images[: cfg.train_size], labels[: cfg.train_size]
    test_images, test_labels = load_mnist_tensors(data, train=False)
    torch.manual_seed(cfg.seed)
    net = build_classifier(cfg)
    optimizer = adam(net.parameters(), lr=cfg.lr)
    steps = cfg.epochs * -(-len(labels) // cfg.batch_size)
    # annealing to zero settles the last epochs' weights: worth a few tenths of a percent test accuracy
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    order = torch.Generator().manual_seed(cfg.seed)
    start = time.time()
    batches = -(-len(labels) // cfg.batch_size)
    for epoch in range(cfg.epochs):
        net.train()
        perm = torch.randperm(len(labels), generator=order)
        # a bar on terminals only: a log file gets the one line per epoch below
        for i in tqdm(range(0, len(labels), cfg.batch_size), total=batches, leave=False, unit="batch",
                      desc=f"classifier epoch {epoch + 1}/{cfg.epochs}", disable=not sys.stderr.isatty()):
            idx = perm[i:i + cfg.batch_size]
            loss = F.cross_entropy(net(_as_input(images[idx])), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        log(f"classifier epoch {epoch + 1}/{cfg.epochs}: last batch loss {loss.item():.4f} "
            f"({time.time() - start:.0f} s)")
    acc = accuracy(net, test_images, test_labels)
    log(f"classifier test accuracy {acc:.4f} after {time.time() - start:.0f} s")
    return net, acc


def save_classifier(net: MNISTClassifier, cfg: ClassifierConfig, test_accuracy: float, path: str | Path) -> Path:
    """Write atomically (temporary file, then rename) so concurrent readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"format": FORMAT_VERSION, "config": asdict(cfg), "test_accuracy": test_accuracy,
                "state_dict": net.state_dict()}, tmp)
    os.replace(tmp, path)
    return path


def ensure_classifier(cfg: ClassifierConfig | None = None, cache_dir: str | Path | None = None,
                      data_root: str | Path | None = None, log: Callable[[str], None] = print) -> Path:
    """The cached checkpoint of ``cfg`` (default config if None), trained and written first if missing.

    A file lock (not a process-group barrier: there is none before ``trainer.fit``, and torchrun's ranks all
    get here at once) makes one process train while the others block, then find the file and load it."""
    cfg = cfg or ClassifierConfig()
    path = cached_path(cfg, cache_dir)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.is_file():
                log(f"genlab: training the MNIST classifier behind FID/KID/IS once ({cfg.epochs} epochs on "
                    f"{cfg.train_size} images); cached at {path}")
                net, acc = train_classifier(cfg, data_root, log)
                save_classifier(net, cfg, acc, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path
