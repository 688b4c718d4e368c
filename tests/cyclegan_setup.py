"""The tiny CycleGAN the tests train: 32 px crops, ngf = ndf = 8, one residual block, real monet2photo images.
Only the parameter-count test builds the official size."""

from __future__ import annotations

from genlab.runner.config import compose

TINY = ["experiment=cyclegan_monet_small", "data.load_size=36", "data.crop_size=32", "data.num_workers=0",
        "data.test_batch_size=16", "model.ngf=8", "model.ndf=8", "model.n_blocks=1",
        # the tests never load Inception: "pixels" features (no weights) stand in for it
        "eval.features=pixels"]


def tiny_cfg(*overrides: str):
    return compose([*TINY, *overrides])


def trainer_kwargs(**kwargs) -> dict:
    """A quiet CPU trainer without logger or checkpoints (tests add what they check)."""
    return {"accelerator": "cpu", "devices": 1, "logger": False, "enable_checkpointing": False,
            "enable_progress_bar": False, "enable_model_summary": False, **kwargs}
