"""genlab: the framework core (configs, registry, tracking, run folders, train/evaluate entry points).

Models live in ``lightning_modules``, data in ``datamodules``; this package wires them together so a run
can be started from ``scripts/`` or from Python (``genlab.train.train(cfg)``).
"""

__version__ = "0.1.0"
