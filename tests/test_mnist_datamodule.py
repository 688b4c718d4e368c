"""MNISTDataModule on the real MNIST files in ../shared/data."""

from __future__ import annotations

import shutil

import pytest
import torch

from datamodules.mnist import MNISTConfig, MNISTDataModule
from genlab.core.errors import DataError


def make(**kwargs) -> MNISTDataModule:
    dm = MNISTDataModule(MNISTConfig(**kwargs))
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_splits_shapes_and_range(data_dir):
    dm = make(root=str(data_dir), batch_size=32, val_size=5000)
    assert len(dm.train_set) == 55000 and len(dm.val_set) == 5000 and len(dm.test_set) == 10000
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (32, 1, 28, 28) and x.dtype == torch.float32 and y.shape == (32,)
    assert x.min() >= 0 and x.max() <= 1 and x.max() > 0.99
    assert dm.info.image_shape == (1, 28, 28) and dm.info.value_range == (0.0, 1.0)


def test_split_is_seeded(data_dir):
    a, b = make(root=str(data_dir), split_seed=3), make(root=str(data_dir), split_seed=3)
    c = make(root=str(data_dir), split_seed=4)
    assert torch.equal(a.val_set.labels, b.val_set.labels)
    assert not torch.equal(a.val_set.images, c.val_set.images)
    # no image is in both train and val
    assert len(a.train_set) + len(a.val_set) == 60000


def test_tanh_range_and_padding_for_dcgan(data_dir):
    dm = make(root=str(data_dir), value_range=[-1.0, 1.0], image_size=32)
    x, _ = dm.val_set[0]
    assert x.shape == (1, 32, 32) and x.min() == -1 and x.max() <= 1
    assert torch.all(x[:, :2] == -1)  # the padding is background
    assert dm.info.value_range == (-1.0, 1.0)


def test_dynamic_binarization_redraws_train_but_fixes_eval(data_dir):
    dm = make(root=str(data_dir), binarize="dynamic")
    first, second = dm.train_set[0][0], dm.train_set[0][0]
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(first, second)  # a fresh draw each time the item is read
    assert torch.equal(dm.test_set[0][0], dm.test_set[0][0])
    again = make(root=str(data_dir), binarize="dynamic")
    assert torch.equal(dm.test_set.fixed, again.test_set.fixed)  # seeded: the same test set every run


def test_dynamic_binarization_of_training_batches_is_per_item_and_unbiased(data_dir):
    dm = make(root=str(data_dir), binarize="dynamic")
    items = dm.train_dataloader().dataset
    batch = torch.stack([x for x, _ in items.__getitems__([(0, 7), (0, 3), (1, 3)])])
    assert torch.equal(batch[1], items.__getitems__([(0, 3)])[0][0])  # the same draw whatever batch it is in
    assert not torch.equal(batch[1], batch[2])  # a new draw each epoch
    grey = dm.train_set.images[3].float() / 255
    epochs = torch.stack([items[(epoch, 3)][0][0] for epoch in range(400)])
    # each pixel is 1 with its grey level as probability: the mean of 400 draws is within 5 standard errors
    assert (epochs.mean(0) - grey).abs().max() <= 5 * 0.5 / 400**0.5


@pytest.mark.parametrize("options", [{}, {"value_range": [-1.0, 1.0], "image_size": 32}, {"binarize": "static"},
                                     {"binarize": "dynamic"}])
def test_batched_reads_give_the_items_one_by_one(data_dir, options):
    dm = make(root=str(data_dir), batch_size=64, **options)
    for dataset in (dm.val_set, dm.test_set):
        batch = dataset.__getitems__([5, 0, 9])
        for (x, y), i in zip(batch, [5, 0, 9], strict=True):
            assert torch.equal(x, dataset[i][0]) and y == dataset[i][1]
    # the training loader: the same batches with and without the batched read (per-item seeds for random items)
    loader = dm.train_dataloader()
    batched = next(iter(loader))
    items = loader.dataset
    keys = list(loader.resumable_sampler)[:64]
    one_by_one = torch.stack([items[key][0] for key in keys])
    assert torch.equal(batched[0], one_by_one)
    assert items.dataset.random_items == (options.get("binarize") == "dynamic")


def test_missing_data_names_path_and_fixes(tmp_path):
    with pytest.raises(DataError) as err:
        make(root=str(tmp_path), download=False)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "data.root" in message and "GENLAB_DATA_DIR" in message


def test_corrupt_file_is_reported(tmp_path, data_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in (data_dir / "MNIST" / "raw").iterdir():
        if not f.name.endswith(".gz"):  # without the archives torchvision cannot quietly re-extract
            shutil.copy(f, raw / f.name)
    images = raw / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[: 1000])  # truncated download
    with pytest.raises(DataError, match="t10k|test") as err:
        make(root=str(tmp_path), download=False)
    assert "\n" not in str(err.value) and "delete them" in str(err.value)
