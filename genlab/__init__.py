"""genlab: the layers that wire models and data into runs (see docs/architecture.md).

``genlab.core`` is the floor (errors, config schema bases, DataInfo), ``genlab.metrics`` and ``genlab.callbacks``
are leaves beside ``lightning_modules`` and ``datamodules``, and ``genlab.runner`` is the roof that composes
configs, builds the parts and trains (``genlab.runner.run.train.train(cfg)``).
"""

__version__ = "0.1.0"


def load(ckpt, map_location: str = "cpu"):
    """``model, cfg = genlab.load("runs/<experiment>/<run>/checkpoints/last.ckpt")``: the model in eval mode and
    its run config (see ``genlab.runner.tools.loading``)."""
    from genlab.runner.tools.loading import load as _load  # importing genlab must not import the whole runner

    return _load(ckpt, map_location)
