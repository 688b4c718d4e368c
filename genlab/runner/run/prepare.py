"""One-off preparation a run needs before Lightning starts: the runner prepares, models only train.

Today that is the MNIST classifier behind the GAN's sample metrics. It must be ready before ``trainer.fit``:
Lightning's validation and test hooks run under inference mode, where nothing can be trained.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from omegaconf import DictConfig

from genlab.metrics.mnist_classifier import load_classifier
from genlab.runner.config import typed
from genlab.runner.run.classifier import ensure_classifier
from lightning_modules.base import GenerativeModule, Need


def _say(line: str) -> None:
    # every process that trains says so (under torchrun that need not be rank zero)
    print(line, file=sys.stderr, flush=True)


def classifier_path(cfg: DictConfig) -> Path:
    """``eval.classifier_ckpt``, else the cached classifier of ``eval.classifier``, trained first if missing."""
    if cfg.eval.classifier_ckpt:
        return Path(cfg.eval.classifier_ckpt)
    return ensure_classifier(typed(cfg.eval, "eval").classifier, data_root=cfg.data.get("root"), log=_say)


def prepare(cfg: DictConfig, model: GenerativeModule) -> None:
    """Hand ``model`` what it declares it needs (``model.needs()``), made or loaded here, in ``model.prepared``.

    Under ``fork_rng``: building (a new network's initial weights) or training the classifier (seeded by its own
    config) must not move the run's random streams, or a run would train differently with the classifier cached
    or not."""
    if Need.CLASSIFIER in model.needs():
        with torch.random.fork_rng(devices=[]):
            model.prepared.classifier = load_classifier(classifier_path(cfg))[0]
