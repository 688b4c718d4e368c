"""data=images: folders made here (sizes, modes, a corrupt file, a non-image, nested folders, a Kaggle layout) and
the real Monet paintings of the shared monet2photo folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules.images import ImagesConfig, ImagesDataModule, split_paths
from genlab.core.errors import ConfigError, DataError
from genlab.runner.config import compose
from genlab.runner.run.build import build_datamodule
from tests.helpers import SHARED_DATA, error_line, train

MONET = SHARED_DATA / "monet2photo"


def _module(root, **kwargs) -> ImagesDataModule:
    dm = ImagesDataModule(ImagesConfig(root=str(root), **kwargs))
    dm.setup("fit")
    return dm


@pytest.fixture
def folder(tmp_path):
    """Nine images of many sizes, modes and formats in nested folders, plus a text file the reader skips."""
    root = tmp_path / "mine"
    (root / "a" / "b").mkdir(parents=True)
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    Image.fromarray(rgb).save(root / "red.png")
    Image.fromarray(rgb).save(root / "a" / "red.bmp")
    Image.fromarray(rgb).save(root / "a" / "b" / "red.webp", lossless=True)
    Image.fromarray(np.full((30, 30), 128, np.uint8)).save(root / "grey.jpg", quality=100)  # mode L
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 1], rgba[..., 3] = 255, 10  # green, nearly transparent: alpha is dropped
    Image.fromarray(rgba, "RGBA").save(root / "a" / "green.png")
    Image.fromarray(rgb).convert("P").save(root / "a" / "b" / "palette.png")
    Image.fromarray(np.full((300, 100, 3), 255, np.uint8)).save(root / "tall_white.jpg", quality=100)
    Image.fromarray(np.full((16, 16, 3), 0, np.uint8)).save(root / "small_black.png")  # upscaled to image_size
    Image.fromarray(rgb).save(root / "a" / "UPPER.JPEG")
    (root / "notes.txt").write_text("not an image")
    return root


def test_a_nested_folder_of_mixed_files_is_read_as_square_rgb_in_range(folder):
    dm = _module(folder, image_size=16, val_fraction=0.0, test_fraction=0.0)
    assert len(dm.train_set) == 9 and dm.info.image_shape == (3, 16, 16) and dm.info.value_range == (-1.0, 1.0)
    names = {p.name: i for i, p in enumerate(dm.train_set.paths)}
    assert "notes.txt" not in names
    for i in range(9):
        x, label = dm.train_set[i]
        assert x.shape == (3, 16, 16) and label == 0 and -1 <= x.min() and x.max() <= 1
    # pure colours survive resize and crop exactly: red (1, -1, -1), green from RGBA (-1, 1, -1), white, black
    assert torch.equal(dm.train_set[names["red.bmp"]][0], torch.tensor([1.0, -1, -1]).view(3, 1, 1).expand(3, 16, 16))
    assert torch.equal(dm.train_set[names["green.png"]][0][:, 5, 5], torch.tensor([-1.0, 1, -1]))
    assert torch.equal(dm.train_set[names["tall_white.jpg"]][0], torch.ones(3, 16, 16))
    assert torch.equal(dm.train_set[names["small_black.png"]][0], -torch.ones(3, 16, 16))
    assert torch.equal(dm.train_set[names["palette.png"]][0][:, 0, 0], torch.tensor([1.0, -1, -1]))


def test_grey_and_unit_range(folder):
    dm = _module(folder, image_size=8, channels=1, value_range=[0.0, 1.0], val_fraction=0.0, test_fraction=0.0)
    names = {p.name: i for i, p in enumerate(dm.train_set.paths)}
    assert dm.info.image_shape == (1, 8, 8)
    # luma of pure red is 299/1000 of 255 = 76 (Pillow's ITU-R 601-2, rounded); a grey 128 stays 128
    assert torch.equal(dm.train_set[names["red.png"]][0], torch.full((1, 8, 8), 76 / 255))
    assert torch.allclose(dm.train_set[names["grey.jpg"]][0], torch.full((1, 8, 8), 128 / 255), atol=1 / 255)


def test_corrupt_file_stops_with_one_line_or_is_skipped(folder):
    (folder / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(DataError, match=r"cannot read image .*broken.jpg .*data.skip_bad_images=true"):
        _module(folder, image_size=8)
    with pytest.warns(UserWarning, match=r"skipping 1 unreadable image\(s\): .*broken.jpg"):
        dm = _module(folder, image_size=8, skip_bad_images=True, val_fraction=0.0, test_fraction=0.0)
    assert len(dm.train_set) == 9


def test_missing_and_empty_folders_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="data folder .*nothing does not exist; set data.root=PATH .*holds images"):
        _module(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="holds no images"):
        _module(tmp_path / "empty")
    with pytest.raises(DataError, match="neither trainA/"):
        _module(tmp_path / "empty", domain="A")


def test_split_is_seeded_disjoint_and_complete(tmp_path):
    paths = [tmp_path / f"{i:03d}.png" for i in range(40)]
    split = split_paths(paths, 0.05, 0.1, seed=0)
    assert [len(split[k]) for k in ("train", "val", "test")] == [34, 2, 4]  # round(2.0), round(4.0)
    assert sorted(p for part in split.values() for p in part) == paths
    assert split == split_paths(paths, 0.05, 0.1, seed=0) and split != split_paths(paths, 0.05, 0.1, seed=1)
    tiny = split_paths(paths[:3], 0.05, 0.1, seed=0)  # at least one image in each asked-for split
    assert [len(tiny[k]) for k in ("train", "val", "test")] == [1, 1, 1]
    with pytest.raises(DataError, match="cannot be split"):
        split_paths(paths[:2], 0.05, 0.1, seed=0)


def test_monet_domain_a_of_the_shared_folder(data_dir, capsys):
    cfg = compose(["experiment=gan_monet", "data.image_size=32"])
    dm = build_datamodule(cfg)
    dm.setup("fit")
    # trainA (280) + testA (20) pooled, then 5 % / 10 % held out: 15 and 30
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (255, 15, 30)
    assert "255 train, 15 val, 30 test" in capsys.readouterr().err
    every = {p.name for s in (dm.train_set, dm.val_set, dm.test_set) for p in s.paths}
    assert every == {p.name for d in ("trainA", "testA") for p in (MONET / d).iterdir()}
    x, _ = dm.val_set[0]
    assert x.shape == (3, 32, 32)


def test_kaggle_layout_domain_b_is_monet_jpg(tmp_path):
    for folder in ("photo_jpg", "monet_jpg"):
        (tmp_path / "set" / folder).mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((8, 8, 3), 10 * i, np.uint8)).save(tmp_path / "set" / "monet_jpg" / f"{i}.png")
    dm = _module(tmp_path, path="set", domain="B", image_size=8, val_fraction=0.25, test_fraction=0.25)
    assert sorted(p.parent.name for s in (dm.train_set, dm.val_set, dm.test_set) for p in s.paths) == \
        ["monet_jpg"] * 4


def test_training_crops_and_flips_are_seeded_per_item(tmp_path):
    """The random crop and flip of an item are a function of (seed, epoch, index) through the base loader."""
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)).save(tmp_path / "x.png")
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (48, 64, 3), np.uint8)).save(tmp_path / "y.png")
    dm = _module(tmp_path, image_size=16, load_size=24, crop="random", flip=True, val_fraction=0.0,
                 test_fraction=0.0, batch_size=2)
    torch.manual_seed(3)
    first = next(iter(dm.train_dataloader()))[0]
    torch.manual_seed(99)  # the process-wide stream does not matter, the loader's seed does
    dm2 = _module(tmp_path, image_size=16, load_size=24, crop="random", flip=True, val_fraction=0.0,
                  test_fraction=0.0, batch_size=2)
    torch.manual_seed(3)
    again = next(iter(dm2.train_dataloader()))[0]
    assert torch.equal(first, again)
    val = _module(tmp_path, image_size=16, load_size=24, crop="random", val_fraction=0.5, test_fraction=0.0)
    assert torch.equal(val.val_set[0][0], val.val_set[0][0])  # evaluation crops are the centre, always


@pytest.mark.parametrize("override, message", [
    ("data.channels=2", "data.channels=2: must be 1 (grey) or 3 (RGB)"),
    ("data.domain=C", "data.domain='C': must be A or B"),
    ("data.load_size=16", "data.load_size=16: must be >= data.image_size (32)"),
    ("data.crop=left", "data.crop='left': must be one of center, random"),
])
def test_bad_data_keys_are_refused_when_composed(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compose(["experiment=gan_monet", "data.image_size=32", override])


@pytest.mark.slow
def test_a_missing_folder_is_one_line_and_exit_2_before_anything_is_written(tmp_path):
    run_dir = tmp_path / "run"
    done = train("experiment=ae_monet", f"data.root={tmp_path / 'nowhere'}", "data.path=null", "data.domain=null",
                 f"run_dir={run_dir}")
    assert done.returncode == 2
    assert f"data folder {tmp_path / 'nowhere'} does not exist; set data.root" in error_line(done.stderr)
    assert not run_dir.exists()
