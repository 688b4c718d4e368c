"""Where the MNIST classifier behind the GAN's FID/KID/IS is cached: ``$GENLAB_CACHE_DIR`` (default
``~/.cache/genlab``), one file per training config. Torch-free, so a run's environment check
(``genlab.runner.run.environment``) finds the folder before torch, Lightning and matplotlib are imported."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from genlab.core.schema import ClassifierConfig

CACHE_ENV = "GENLAB_CACHE_DIR"
# Bumped whenever the network or the training loop changes, so stale cached weights are never reused.
FORMAT_VERSION = 1


def config_hash(cfg: ClassifierConfig) -> str:
    text = json.dumps({"format": FORMAT_VERSION, **asdict(cfg)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "genlab").expanduser()


def cached_path(cfg: ClassifierConfig, cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / f"mnist_classifier-{config_hash(cfg)}.pt"
