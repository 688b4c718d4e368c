"""Train a model from a config: ``train(compose([...]))`` from Python, or ``scripts/train.py`` from a shell."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import wandb
import yaml
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_info, rank_zero_only

from genlab.build import build_callbacks, build_datamodule, build_model, build_trainer
from genlab.checkpoints import check_same_model, read_checkpoint_config, run_dir_of
from genlab.config.load import to_saved
from genlab.console import progress_callbacks, quiet
from genlab.errors import CheckpointError
from genlab.prepare import prepare
from genlab.rundir import RUN_DIR_ENV, WANDB_ID_ENV, choose_run_dir, git_info, run_id_for
from genlab.tracking import make_loggers, start_wandb_run


@dataclass
class TrainResult:
    run_dir: Path
    trainer: pl.Trainer
    model: pl.LightningModule
    datamodule: pl.LightningDataModule


@contextlib.contextmanager
def _published(env: dict[str, str]):
    """Set environment variables for the run (DDP ranks started by Lightning inherit them), then restore."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def saved_config(cfg: DictConfig, run_dir: Path) -> dict:
    """The resolved config as written to ``config.yaml`` and into checkpoints, with the code version."""
    data = to_saved(cfg)  # ${oc.env:...} values (secrets) are saved as the reference, not in clear
    data["run_dir"] = str(run_dir)
    data["git"] = git_info()
    return data


def train(cfg: DictConfig) -> TrainResult:
    """Fit (resuming from ``cfg.ckpt`` if set), then test the best checkpoint's weights when a test split exists."""
    if cfg.ckpt:
        check_same_model(read_checkpoint_config(cfg.ckpt), cfg.model.name, cfg.ckpt)
        run_dir = Path(cfg.run_dir) if cfg.run_dir else run_dir_of(cfg.ckpt)
    else:
        run_dir = choose_run_dir(cfg.experiment, cfg.run_dir)
    quiet()
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    prepare(cfg, model)
    config = saved_config(cfg, run_dir)
    run_id = run_id_for(run_dir)
    if rank_zero_only.rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        (run_dir / "wandb_id.txt").write_text(run_id)
    with _published({RUN_DIR_ENV: str(run_dir), WANDB_ID_ENV: run_id}):
        loggers = make_loggers(cfg, run_dir, run_id, config)
        callbacks = build_callbacks(cfg, run_dir, config) + progress_callbacks(cfg.trainer.enable_progress_bar)
        trainer = build_trainer(cfg, run_dir, loggers, callbacks, model)
        start_wandb_run(loggers, cfg, run_dir)  # the id W&B gave the run goes to wandb_id.txt
        rank_zero_info(f"genlab: run folder {run_dir}")
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.ckpt)
            if not trainer.interrupted and cfg.trainer.limit_test_batches != 0:
                trainer.test(model, datamodule=datamodule, ckpt_path="best" if _has_best(trainer) else None)
        except RuntimeError as e:
            if cfg.ckpt and "state_dict" in str(e):
                raise CheckpointError(f"checkpoint {cfg.ckpt} does not fit this model ({str(e).splitlines()[0]}); "
                                      "resume with the checkpoint alone (ckpt=PATH) so its saved config is used") \
                    from None
            raise
        finally:
            if wandb.run is not None:
                # finish() can return before the W&B service has written the whole offline log; stopping the
                # service waits for it, so the run is complete on disk when train() returns
                wandb.finish()
                wandb.teardown()
    return TrainResult(run_dir, trainer, model, datamodule)


def _has_best(trainer: pl.Trainer) -> bool:
    return bool(trainer.checkpoint_callback and trainer.checkpoint_callback.best_model_path)
