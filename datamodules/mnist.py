"""MNIST as in-memory uint8 tensors: read once through torchvision, converted per batch item cheaply."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, random_split
from torchvision.datasets import MNIST

from datamodules.base import SquareImages, item_uniforms, loader_options, train_loader
from datamodules.schemas import MNISTConfig
from genlab.core.data import resolve_root
from genlab.core.errors import DataError


class MNISTImages(Dataset):
    """(image, label) pairs from uint8 tensors; binarization and range mapping happen per item."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, cfg: MNISTConfig, fixed_seed: int | None):
        self.images, self.labels, self.cfg = images, labels, cfg
        self.fixed = None
        if cfg.binarize == "static" or (cfg.binarize == "dynamic" and fixed_seed is not None):
            # eval splits get one seeded draw, so test numbers do not move between evaluations
            gen = torch.Generator().manual_seed(fixed_seed if fixed_seed is not None else 0)
            self.fixed = torch.bernoulli(images.float() / 255.0, generator=gen).to(torch.uint8)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def random_items(self) -> bool:
        """Whether reading an item draws from the random generator (dynamic binarization of a training set)."""
        return self.fixed is None and self.cfg.binarize == "dynamic"

    def _pixels(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 28, 28) pixels in [0, 1] -> (N, 1, size, size) in the configured range."""
        x = x.unsqueeze(1)
        if self.cfg.image_size == 32:
            x = F.pad(x, (2, 2, 2, 2))
        return x * 2 - 1 if self.cfg.value_range[0] == -1 else x

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        if self.fixed is not None:
            x = self.fixed[i].float()
        elif self.cfg.binarize == "dynamic":
            x = torch.bernoulli(self.images[i].float() / 255.0)
        else:
            x = self.images[i].float() / 255.0
        return self._pixels(x[None])[0], int(self.labels[i])

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, int]]:
        """A whole batch in a few tensor operations (the DataLoader asks for it when it exists): item by item,
        the in-memory set delivered about 9,000 images/s on one CPU thread, less than a GPU's AE or VAE step
        consumes. The same elementwise operations as ``__getitem__``, so the values are identical."""
        if self.random_items:  # one Bernoulli draw per item, in the item's own order
            return [self[i] for i in indices]
        index = torch.as_tensor(indices)
        x = self.fixed[index].float() if self.fixed is not None else self.images[index].float() / 255.0
        return list(zip(self._pixels(x).unbind(0), self.labels[index].tolist(), strict=True))

    def seeded_items(self, indices: list[int], seeds: list[int]) -> list[tuple[torch.Tensor, int]]:
        """Training items dynamically binarized by their own seeds (``datamodules.base.SeededItems``), a batch
        in a few tensor operations: pixel j of an item is 1 when its j-th uniform is below the grey level."""
        index = torch.as_tensor(indices)
        grey = self.images[index].float() / 255.0
        x = (item_uniforms(seeds, grey[0].numel()).view_as(grey) < grey).float()
        return list(zip(self._pixels(x).unbind(0), self.labels[index].tolist(), strict=True))


def _read(root, train: bool, download: bool) -> MNIST:
    """torchvision's reader; a missing dataset is None, unreadable files a DataError."""
    split = "train" if train else "test"
    try:
        return MNIST(str(root), train=train, download=download)
    except RuntimeError as e:
        if "not found" in str(e):
            return None
        if download:
            raise DataError(f"MNIST not found under {root / 'MNIST' / 'raw'} and the download failed "
                            f"({str(e).splitlines()[0][:160]}); connect to the internet, or set data.root=PATH or "
                            "GENLAB_DATA_DIR to a folder holding MNIST/raw/") from None
        raise DataError(f"MNIST {split} files under {root / 'MNIST' / 'raw'} are unreadable "
                        f"({str(e).splitlines()[0][:160]}); delete them to download again, or point data.root "
                        "elsewhere") from None
    except (ValueError, OSError, EOFError, AssertionError) as e:
        if download and isinstance(e, OSError):
            raise DataError(f"MNIST not found under {root / 'MNIST' / 'raw'} and the download failed ({e}); connect "
                            "to the internet, or set data.root=PATH or GENLAB_DATA_DIR to a folder holding "
                            "MNIST/raw/") from None
        raise DataError(f"MNIST {split} files under {root / 'MNIST' / 'raw'} are unreadable ({e}); delete them "
                        "to download again, or point data.root elsewhere") from None


def load_mnist_tensors(cfg: MNISTConfig, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    root = resolve_root(cfg.root)
    split = "train" if train else "test"
    ds = _read(root, train, download=False)
    if ds is None and not cfg.download:
        raise DataError(f"MNIST not found under {root / 'MNIST' / 'raw'} and data.download=false; set data.root=PATH "
                        "or GENLAB_DATA_DIR to a folder holding MNIST/raw/")
    if ds is None:
        ds = _read(root, train, download=True)
    expected = 60000 if train else 10000
    if ds.data.shape != (expected, 28, 28) or len(ds.targets) != expected:
        raise DataError(f"MNIST {split} files under {root / 'MNIST' / 'raw'} hold {tuple(ds.data.shape)} images, "
                        f"expected ({expected}, 28, 28); delete them to download again")
    return ds.data, ds.targets


class MNISTDataModule(SquareImages):
    """Train/val split of the 60k training images (seeded), and the 10k test images."""

    Config = MNISTConfig
    channels = 1
    num_classes = 10

    def prepare_data(self) -> None:
        load_mnist_tensors(self.cfg, train=True)
        load_mnist_tensors(self.cfg, train=False)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            images, labels = load_mnist_tensors(self.cfg, train=True)
            gen = torch.Generator().manual_seed(self.cfg.split_seed)
            train_idx, val_idx = random_split(range(len(labels)), [len(labels) - self.cfg.val_size,
                                                                   self.cfg.val_size], generator=gen)
            train_idx, val_idx = torch.tensor(list(train_idx)), torch.tensor(list(val_idx))
            self.train_set = MNISTImages(images[train_idx], labels[train_idx], self.cfg, fixed_seed=None)
            self.val_set = MNISTImages(images[val_idx], labels[val_idx], self.cfg,
                                       fixed_seed=self.cfg.split_seed + 1)
        if self.test_set is None and stage in (None, "test", "predict", "fit"):
            images, labels = load_mnist_tensors(self.cfg, train=False)
            self.test_set = MNISTImages(images, labels, self.cfg, fixed_seed=self.cfg.split_seed + 2)

    def _loader(self, ds: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(ds, batch_size=self.cfg.batch_size, shuffle=shuffle, drop_last=False,
                          **loader_options(self, self.cfg.num_workers))

    def train_dataloader(self) -> DataLoader:
        return train_loader(self, self.train_set, self.cfg.batch_size, **loader_options(self, self.cfg.num_workers))

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle=False)
