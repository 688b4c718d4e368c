"""genlab: the framework core (configs, registry, tracking, run folders, train/evaluate entry points).

Models live in ``lightning_modules``, data in ``datamodules``; this package wires them together so a run
can be started from ``scripts/`` or from Python (``genlab.train.train(cfg)``).
"""

__version__ = "0.1.0"


def load(ckpt, map_location: str = "cpu"):
    """``model, cfg = genlab.load("runs/<experiment>/<run>/checkpoints/last.ckpt")``: the model in eval mode and
    its run config (see ``genlab.loading``)."""
    from genlab.loading import load as _load  # models import genlab: a top-level import would be circular

    return _load(ckpt, map_location)
