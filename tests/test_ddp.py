"""Real multi-process DDP on CPU (gloo) through the CLI: one run folder, one checkpoint set, one W&B run."""

from __future__ import annotations

import pytest
import torch

from lightning_modules.autoencoder import Autoencoder
from tests.helpers import FAST, run_script
from tests.wandb_offline import read_offline_run


@pytest.mark.slow
def test_two_process_ddp_run_shares_one_run_folder(tmp_path, data_dir):
    args = [a for a in FAST if not a.startswith("trainer.devices")]
    result = run_script("train.py", "experiment=ae_mnist", *args, "trainer.devices=2", "trainer.strategy=ddp",
                        "trainer.limit_train_batches=6", "model.latent_dim=4", "data.batch_size=32", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dirs = list((tmp_path / "runs" / "ae_mnist").iterdir())
    assert len(run_dirs) == 1  # both ranks agreed on the folder
    run_dir = run_dirs[0]
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # only rank zero opened a W&B run
    run = read_offline_run(run_dir)
    assert "train/loss" in run.keys() and "test/loss" in run.keys()
    # what callbacks.monitor is checked against is logged
    assert set(Autoencoder.Config.validation_metrics) <= run.keys()
    # the DistributedSampler gives each rank its own share; each rank stepped once per batch it saw
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 6
