"""A small, quickly trained MNIST classifier for the GAN tests' FID/KID/class statistics (the default one
takes minutes on CPU); made once per session through the real ``scripts/train_classifier.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from genlab.runner.classifier import cached_path, parse_config
from tests.conftest import run_script
from tests.helpers import TINY_CLASSIFIER as TINY

TINY_CLASSIFIER = [f"{k}={str(v).replace(' ', '')}" for k, v in TINY.items()]


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory, data_dir) -> Path:
    cache = tmp_path_factory.getbasetemp() / "classifier-cache"
    path = cached_path(parse_config(TINY_CLASSIFIER), cache)
    if not path.is_file():
        done = run_script("train_classifier.py", *TINY_CLASSIFIER, f"cache_dir={cache}")
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"classifier: {path}" in done.stdout
    return path
