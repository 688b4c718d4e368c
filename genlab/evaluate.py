"""Evaluate a checkpoint on its test split: rebuild model and data from the config saved in it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytorch_lightning as pl

from genlab.build import build_datamodule, build_model
from genlab.checkpoints import read_checkpoint_config, run_dir_of
from genlab.config import compose_from_saved
from genlab.console import progress_callbacks, quiet
from genlab.errors import CheckpointError
from genlab.prepare import prepare

# Trainer keys that still mean something when only testing
_EVAL_TRAINER_KEYS = ("accelerator", "devices", "num_nodes", "strategy", "precision", "limit_test_batches",
                      "enable_progress_bar", "deterministic")


def evaluate(ckpt: str | Path, overrides: list[str] | None = None) -> dict[str, float]:
    """Test metrics of ``ckpt``; also written to ``metrics.json`` in the checkpoint's run folder."""
    cfg = compose_from_saved(read_checkpoint_config(ckpt), overrides or [])
    quiet()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    prepare(cfg, model)
    run_dir = run_dir_of(ckpt)
    kwargs = {k: cfg.trainer[k] for k in _EVAL_TRAINER_KEYS}
    if kwargs["limit_test_batches"] == 0:  # a run that skipped its end-of-training test is still evaluated
        kwargs["limit_test_batches"] = None
    trainer = pl.Trainer(default_root_dir=str(run_dir), logger=False,
                         callbacks=progress_callbacks(kwargs["enable_progress_bar"]), **kwargs)
    try:
        results = trainer.test(model, datamodule=datamodule, ckpt_path=str(ckpt), verbose=False)
    except RuntimeError as e:
        if "state_dict" in str(e):
            raise CheckpointError(f"checkpoint {ckpt} does not fit the model its config describes "
                                  f"({str(e).splitlines()[0]})") from None
        raise
    metrics = {k: float(v) for k, v in sorted(results[0].items())}
    if trainer.is_global_zero:
        path = run_dir / "metrics.json"
        path.write_text(json.dumps({k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items()}, indent=2)
                        + "\n")
    return metrics
