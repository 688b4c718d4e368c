"""Models back out of checkpoints: a real checkpoint of each model loads through genlab.load and Lightning's own
load_from_checkpoint, and scripts/sample.py draws from it."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import genlab
from genlab.core.errors import CheckpointError
from genlab.runner.config import compose, registry
from genlab.runner.run.train import train
from tests.helpers import FAST, TINY_CYCLEGAN, call_script, with_args

pytestmark = pytest.mark.slow
ONE_BATCH = [*with_args(FAST, "trainer.limit_train_batches=1", "trainer.limit_val_batches=0",
                       "trainer.limit_test_batches=0"),
             "logger.mode=disabled", "callbacks.monitor=null", "callbacks.images=[]"]
MODELS = {
    "autoencoder": ["experiment=ae_mnist", "model.hidden=[32]", "model.latent_dim=4"],
    "vae": ["experiment=vae_mnist", "model.hidden=[32]", "model.latent_dim=4"],
    "gan": ["experiment=mlp_gan_mnist", "model.g_hidden=[32]", "model.d_hidden=[32]", "model.latent_dim=4",
            "eval.features=pixels"],
    "cyclegan": TINY_CYCLEGAN,
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, data_dir):
    """One real checkpoint per model: a Trainer fits one batch and saves last.ckpt."""
    root = tmp_path_factory.mktemp("ckpts")
    paths = {}
    for name, args in MODELS.items():
        result = train(compose([*args, *ONE_BATCH, f"run_dir={root / name}"]))
        paths[name] = result.run_dir / "checkpoints" / "last.ckpt"
        paths[name + "/state"] = {k: v.clone() for k, v in result.model.state_dict().items()}
    return paths


@pytest.mark.parametrize("name", MODELS)
def test_every_model_loads_through_genlab_load_and_load_from_checkpoint(checkpoints, name):
    model, cfg = genlab.load(checkpoints[name])
    assert not model.training and cfg.model.name == name
    lightning = registry.lookup("model", name).load_from_checkpoint(checkpoints[name], map_location="cpu")
    for loaded in (model, lightning):
        state = loaded.state_dict()
        assert state.keys() == checkpoints[name + "/state"].keys()
        assert all(torch.equal(state[k], v) for k, v in checkpoints[name + "/state"].items())


def test_a_checkpoint_of_another_model_is_refused(checkpoints):
    with pytest.raises(CheckpointError, match="holds a 'vae' model"):
        registry.lookup("model", "gan").load_from_checkpoint(checkpoints["vae"])


@pytest.mark.parametrize("name, n, size", [("vae", 10, (122, 92)), ("gan", 64, (242, 242)),
                                           ("autoencoder", 6, (92, 122))])
def test_sample_writes_a_grid_of_the_asked_size_and_a_strip(checkpoints, tmp_path, name, n, size):
    # columns ceil(sqrt(n)), 28 px images with 2 px padding: 10 -> 4 x 3; 64 -> 8 x 8; 6 -> 3 x (2 pairs of rows)
    out = tmp_path / f"{name}.png"
    result = call_script("sample.py", f"ckpt={checkpoints[name]}", f"n={n}", "seed=0", f"out={out}")
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(out) as grid, Image.open(tmp_path / f"{name}_interpolation.png") as strip:
        assert grid.size == size and strip.size == (2 + 10 * 30, 32)


def test_sample_points_cyclegan_to_translate(checkpoints, tmp_path):
    result = call_script("sample.py", f"ckpt={checkpoints['cyclegan']}", f"out={tmp_path / 'x.png'}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "scripts/translate.py" in lines[0]
    assert not (tmp_path / "x.png").exists()
