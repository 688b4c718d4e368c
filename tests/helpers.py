"""Helpers shared by several test modules: a fresh machine's environment, tiny-run arguments, file checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path

# A small, quickly trained MNIST classifier for the GAN's FID/KID/class statistics (the default one takes
# minutes on CPU): the keys of genlab.metrics.classifier.ClassifierConfig that differ from its defaults.
TINY_CLASSIFIER = {"channels": [8, 16], "num_features": 32, "dropout": 0.0, "train_size": 6000, "epochs": 1,
                   "batch_size": 64, "lr": 0.003}
# the same as overrides of the run config (eval.classifier.<key>=value)
TINY_CLASSIFIER_ARGS = [f"eval.classifier.{k}={str(v).replace(' ', '')}" for k, v in TINY_CLASSIFIER.items()]


def fresh_machine(tmp_path: Path) -> dict[str, str | None]:
    """Environment of a machine where nothing was prepared: an empty genlab cache, a HOME without W&B
    credentials, no W&B variables (values of None are unset by ``run_script``)."""
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    return {"HOME": str(home), "GENLAB_CACHE_DIR": str(cache), "XDG_CONFIG_HOME": None, "XDG_CACHE_HOME": None,
            "NETRC": None, "WANDB_MODE": None, "WANDB_API_KEY": None, "WANDB_BASE_URL": None,
            "WANDB_CONFIG_DIR": None, "WANDB_IDENTITY_TOKEN_FILE": None, "WANDB_DIR": None}


def tree_checksums(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` by relative path (folders included as empty entries), so a test
    can assert that a command changed, added or removed nothing there."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out
