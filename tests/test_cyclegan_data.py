"""The unpaired DataModule on the shared monet2photo images and on folders made here (odd formats, bad files)."""

import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from datamodules.image_files import list_images, load_rgb
from datamodules.unpaired import UnalignedImages, UnpairedConfig, UnpairedDataModule, eval_transform
from genlab.core.errors import ConfigError, DataError
from tests.helpers import SHARED_DATA
from tests.helpers import tiny_cyclegan_cfg as tiny_cfg

MONET2PHOTO = SHARED_DATA / "monet2photo"


def tiny_datamodule(**fields) -> UnpairedDataModule:
    return UnpairedDataModule(UnpairedConfig(load_size=36, crop_size=32, **fields))


def test_monet2photo_photos_are_domain_a_and_an_epoch_is_the_larger_domain():
    dm = UnpairedDataModule(UnpairedConfig(**{k: v for k, v in tiny_cfg().data.items()}))
    dm.setup("fit")
    photos, monets = list_images(MONET2PHOTO / "trainB"), list_images(MONET2PHOTO / "trainA")
    assert dm.train_set.paths_a == photos and dm.train_set.paths_b == monets
    assert len(dm.train_set) == max(len(photos), len(monets))
    assert dm.test_set.paths_a == list_images(MONET2PHOTO / "testB")
    batch = next(iter(dm.train_dataloader()))
    assert batch["A"].shape == batch["B"].shape == (1, *dm.info.image_shape) == (1, 3, 32, 32)
    assert batch["A"].min() >= -1 and batch["A"].max() <= 1 and dm.info.value_range == (-1.0, 1.0)


def test_train_items_are_randomly_cropped_and_test_items_fixed():
    dm = tiny_datamodule(path="monet2photo", a_folder="B", b_folder="A")
    dm.setup("fit")
    torch.manual_seed(0)
    assert not torch.equal(dm.train_set[0]["A"], dm.train_set[0]["A"])  # random crop and flip
    first = dm.test_set[0]
    assert torch.equal(first["A"], dm.test_set[0]["A"])
    expected = eval_transform(32)(load_rgb(dm.test_set.paths_a[0]))  # bicubic resize to the crop size
    assert torch.equal(first["A"], expected)


@pytest.fixture
def numbered_images(tmp_path) -> tuple[list[Path], list[Path]]:
    """5 A and 7 B solid images whose red value is their index, so items can be traced to files."""
    paths = {"A": [], "B": []}
    for side, n in (("A", 5), ("B", 7)):
        for i in range(n):
            path = tmp_path / side / f"{i}.png"
            path.parent.mkdir(exist_ok=True)
            Image.new("RGB", (4, 4), (i, 0, 0)).save(path)
            paths[side].append(path)
    return paths["A"], paths["B"]


def ids(tensor: torch.Tensor) -> int:
    return round(float(tensor[0, 0, 0]) * 255)


def test_b_is_drawn_at_random_from_the_seed_and_serial_pairs_by_index(numbered_images):
    a, b = numbered_images
    random_pairs = UnalignedImages(a, b, T.ToTensor(), serial=False)
    assert len(random_pairs) == 7

    def b_ids(seed):
        torch.manual_seed(seed)
        return [ids(random_pairs[i]["B"]) for i in range(70)]

    assert b_ids(1) == b_ids(1) and b_ids(1) != b_ids(2)
    assert set(b_ids(1)) == set(range(7))
    assert [ids(random_pairs[i]["A"]) for i in range(7)] == [0, 1, 2, 3, 4, 0, 1]
    serial = UnalignedImages(a, b, T.ToTensor(), serial=True, mark_repeats=True)
    items = [serial[i] for i in range(7)]
    assert [ids(x["B"]) for x in items] == list(range(7))
    # the test split marks wrapped-around A images, so metrics count each image once
    assert [bool(x["A_valid"]) for x in items] == [True] * 5 + [False] * 2
    assert all(bool(x["B_valid"]) for x in items)


def make_layout(root: Path, per_folder: int = 2) -> Path:
    base = root / "set"
    sources = list_images(MONET2PHOTO / "testA")
    for folder in ("trainA", "trainB", "testA", "testB"):
        (base / folder).mkdir(parents=True)
        for src in sources[:per_folder]:
            shutil.copy(src, base / folder / src.name)
    return base


def test_grayscale_rgba_and_palette_files_become_rgb_and_a_corrupt_file_is_named(tmp_path):
    base = make_layout(tmp_path)
    source = Image.open(list_images(MONET2PHOTO / "testA")[0])
    source.convert("L").save(base / "trainA" / "gray.png")
    rgba = source.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(base / "trainA" / "rgba.png")
    source.convert("P").save(base / "trainA" / "palette.webp")
    good = list_images(MONET2PHOTO / "testB")[0].read_bytes()
    (base / "trainB" / "broken.jpg").write_bytes(good[: len(good) // 3])

    dm = UnpairedDataModule(UnpairedConfig(root=str(tmp_path), path="set", load_size=36, crop_size=32))
    with pytest.raises(DataError, match=r"cannot read image .*broken\.jpg.*skip_bad_images=true"):
        dm.setup("fit")

    dm = UnpairedDataModule(UnpairedConfig(root=str(tmp_path), path="set", load_size=36, crop_size=32,
                                           skip_bad_images=True))
    with pytest.warns(UserWarning, match=r"skipping 1 unreadable image\(s\): .*broken\.jpg"):
        dm.setup("fit")
    assert len(dm.train_set.paths_b) == 2
    for name in ("gray.png", "rgba.png", "palette.webp"):
        i = [p.name for p in dm.train_set.paths_a].index(name)
        x = dm.train_set[i]["A"]
        assert x.shape == (3, 32, 32) and x.min() >= -1 and x.max() <= 1
    gray = dm.test_set.transform(load_rgb(base / "trainA" / "gray.png"))
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])


def test_missing_and_empty_folders_are_named(tmp_path):
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        UnpairedDataModule(UnpairedConfig(root=str(tmp_path), path="nowhere")).setup("fit")
    base = make_layout(tmp_path)
    shutil.rmtree(base / "testB")
    with pytest.raises(DataError, match=r"image folder .*testB does not exist"):
        UnpairedDataModule(UnpairedConfig(root=str(tmp_path), path="set")).setup("fit")
    (base / "testB").mkdir()
    (base / "testB" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"image folder .*testB holds no images"):
        UnpairedDataModule(UnpairedConfig(root=str(tmp_path), path="set")).setup("fit")


@pytest.mark.parametrize("override, message", [
    ("data.crop_size=64", r"data\.crop_size=64: must be <= data\.load_size \(36\)"),
    ("data.crop_size=30", r"data\.crop_size=30: must be a positive multiple of 4"),
    ("data.a_folder=C", r"data\.a_folder='C': must be A or B"),
    ("data.b_folder=B", r"data\.b_folder='B': must differ"),
])
def test_bad_data_config_fails_at_config_time(override, message):
    with pytest.raises(ConfigError, match=message):
        tiny_cfg(override)


def test_kaggle_layout_is_split_by_a_seeded_fraction(tmp_path):
    base = tmp_path / "gan-getting-started"
    for folder, source, n in (("monet_jpg", "testA", 10), ("photo_jpg", "testB", 12)):
        (base / folder).mkdir(parents=True)
        for src in list_images(MONET2PHOTO / source)[:n]:
            shutil.copy(src, base / folder / src.name)

    def splits(seed):
        dm = UnpairedDataModule(UnpairedConfig(root=str(tmp_path), path=base.name, layout="kaggle", load_size=36,
                                               crop_size=32, test_fraction=0.2, split_seed=seed))
        dm.setup("fit")
        return dm.train_set, dm.test_set

    train, test = splits(0)
    photos, monets = list_images(base / "photo_jpg"), list_images(base / "monet_jpg")
    assert sorted(train.paths_a + test.paths_a) == photos and not set(train.paths_a) & set(test.paths_a)
    assert sorted(train.paths_b + test.paths_b) == monets
    assert (len(test.paths_a), len(test.paths_b)) == (round(0.2 * 12), round(0.2 * 10))
    assert splits(0)[1].paths_a == test.paths_a and splits(1)[1].paths_a != test.paths_a


def test_data_root_may_be_the_dataset_folder_itself(tmp_path):
    base = make_layout(tmp_path)
    dm = UnpairedDataModule(UnpairedConfig(root=str(base), load_size=36, crop_size=32))
    dm.setup("fit")
    assert dm.dataset_dir == base and len(dm.train_set.paths_a) == 2
    kaggle = tmp_path / "gan-getting-started"
    for folder in ("monet_jpg", "photo_jpg"):
        (kaggle / folder).mkdir(parents=True)
        for src in list_images(MONET2PHOTO / "testA")[:5]:
            shutil.copy(src, kaggle / folder / src.name)
    dm = UnpairedDataModule(UnpairedConfig(root=str(kaggle), layout="kaggle", load_size=36, crop_size=32))
    dm.setup("fit")
    assert dm.dataset_dir == kaggle and len(dm.train_set.paths_a) + len(dm.test_set.paths_a) == 5
