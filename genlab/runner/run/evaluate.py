"""Evaluate a checkpoint on its test split: rebuild model and data from the config saved in it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytorch_lightning as pl

from genlab.core.errors import ConfigError
from genlab.core.saved import read_checkpoint_config
from genlab.runner.config import compose_from_saved
from genlab.runner.run.build import build_datamodule, load_model
from genlab.runner.run.checkpoints import run_dir_of
from genlab.runner.run.console import progress_callbacks, quiet
from genlab.runner.run.plan import check_before_run
from genlab.runner.run.prepare import prepare
from genlab.runner.run.tracking import tracked

# Trainer keys that still mean something when only testing
_EVAL_TRAINER_KEYS = ("accelerator", "devices", "num_nodes", "strategy", "precision", "limit_test_batches",
                      "enable_progress_bar", "deterministic")


# what an evaluation reads from the command line; the model, the data it was trained on and its seed come from the
# checkpoint (a changed model key would not fit its weights), and training keys mean nothing here
_EVAL_KEYS = ("eval.", "logger.", "data.root=", "data.num_workers=", "data.batch_size=", "data.test_batch_size=",
              *(f"trainer.{k}=" for k in _EVAL_TRAINER_KEYS))


def refuse_unused(overrides: list[str]) -> None:
    """Refuse keys an evaluation would ignore or could not apply, before anything is read or written."""
    unused = [a for a in overrides if not a.startswith(_EVAL_KEYS)]
    if unused:
        raise ConfigError(f"evaluate does not use {' '.join(unused)}: the model, data and seed come from the "
                          "checkpoint; it takes eval.*, logger.*, data.root, data.num_workers, data.batch_size, "
                          f"data.test_batch_size and trainer.{{{','.join(_EVAL_TRAINER_KEYS)}}}")


def training_wandb_mode(run_dir: Path) -> str:
    """How the run was tracked, read from its folder: ``offline`` or ``online`` (its latest W&B run folder),
    ``disabled`` when it has no W&B run or no recorded id to resume."""
    latest = sorted((run_dir / "wandb").glob("*run-*"), key=lambda p: p.name.split("-")[-2])
    if not latest or not (run_dir / "wandb_id.txt").is_file():
        return "disabled"
    return "offline" if latest[-1].name.startswith("offline-") else "online"


def evaluate(ckpt: str | Path, overrides: list[str] | None = None) -> dict[str, float]:
    """Test metrics of ``ckpt``, written to ``metrics.json`` in the checkpoint's run folder, to a new version of
    its local CSV copy, and into the same W&B run (resumed by its id, offline when training was)."""
    refuse_unused(overrides or [])
    cfg = compose_from_saved(read_checkpoint_config(ckpt), overrides or [])
    check_before_run(cfg)
    quiet()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    model = load_model(cfg, datamodule, ckpt)
    prepare(cfg, model)
    run_dir = run_dir_of(ckpt)
    kwargs = {k: cfg.trainer[k] for k in _EVAL_TRAINER_KEYS}
    if kwargs["limit_test_batches"] == 0:  # a run that skipped its end-of-training test is still evaluated
        kwargs["limit_test_batches"] = None
    wandb_id = (run_dir / "wandb_id.txt").read_text().strip() if (run_dir / "wandb_id.txt").is_file() else None
    with tracked(cfg, run_dir, wandb_id, {}, job_type="evaluate", mode=training_wandb_mode(run_dir)) as loggers:
        trainer = pl.Trainer(default_root_dir=str(run_dir), logger=loggers,
                             callbacks=progress_callbacks(kwargs["enable_progress_bar"]), **kwargs)
        results = trainer.test(model, datamodule=datamodule, verbose=False)
    metrics = {k: float(v) for k, v in sorted(results[0].items())}
    if trainer.is_global_zero:
        path = run_dir / "metrics.json"
        path.write_text(json.dumps({k: (v if math.isfinite(v) else str(v)) for k, v in metrics.items()}, indent=2)
                        + "\n")
    return metrics
