"""Any folder of images (JPEG, PNG, WebP, BMP, searched recursively), or one domain of the CycleGAN or Kaggle layout,
for the autoencoder, the VAE and the GAN: ``data=images data.root=PATH data.image_size=64``.

Files are read by ``datamodules.image_files`` (the reader the unpaired datamodule uses), resized so the shorter
side is ``load_size`` and cropped square to ``image_size`` (centre crop; a random one for training with
``crop=random``), optionally flipped, as RGB or grey, in ``value_range``. Every file of the folder (or of the
domain's train and test folders) is pooled and split by ``split_seed`` into train/val/test, so the split does not
move with the run's seed and a layout's small test folder (20 Monets) does not decide the test set's size.
Batches are ``(image, 0)``: "labelled images" with a single class, so the models and callbacks written for
MNIST read them unchanged; ``DataInfo.num_classes`` is None, which tells models there are no real labels.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from pytorch_lightning.utilities import rank_zero_only, rank_zero_warn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from datamodules.base import SquareImages, loader_options, train_loader
from datamodules.image_files import drop_unreadable, list_images, load_image
from datamodules.schemas import DEFAULT_FOLDERS, ImagesConfig
from genlab.core.data import resolve_root
from genlab.core.errors import DataError


def image_transform(cfg: ImagesConfig, train: bool) -> T.Compose:
    """Shorter side to ``load_size`` (bicubic, antialiased), square crop, flip, tensor in ``value_range``."""
    load = cfg.load_size or cfg.image_size
    random_crop = train and cfg.crop == "random"
    steps = [T.Resize(load, T.InterpolationMode.BICUBIC, antialias=True),
             T.RandomCrop(cfg.image_size) if random_crop else T.CenterCrop(cfg.image_size)]
    if train and cfg.flip:
        steps.append(T.RandomHorizontalFlip())
    steps.append(T.ToTensor())  # [0, 1]
    if cfg.value_range[0] == -1:
        steps.append(T.Normalize((0.5,) * cfg.channels, (0.5,) * cfg.channels))
    return T.Compose(steps)


class ImageFiles(Dataset):
    """(image, 0) per file; the transform's random draws come from torch's generator (seeded per item in training
    by ``datamodules.base.SeededItems``)."""

    def __init__(self, paths: list[Path], transform: T.Compose, channels: int):
        self.paths, self.transform, self.channels = paths, transform, channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(load_image(self.paths[i], self.channels)), 0


def split_paths(paths: list[Path], val_fraction: float, test_fraction: float, seed: int) -> dict[str, list[Path]]:
    """A seeded split of ``paths`` into train/val/test (each sorted), at least one image in each split whose
    fraction is > 0 and at least one left to train on."""
    n = len(paths)
    n_val = min(max(1, round(val_fraction * n)), n - 1) if val_fraction > 0 else 0
    n_test = min(max(1, round(test_fraction * n)), n - 1 - n_val) if test_fraction > 0 else 0
    if (val_fraction > 0 and n_val < 1) or (test_fraction > 0 and n_test < 1):
        raise DataError(f"{n} image(s) cannot be split into train/val/test; add images or set "
                        "data.val_fraction=0 / data.test_fraction=0")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    parts = {"val": order[:n_val], "test": order[n_val:n_val + n_test], "train": order[n_val + n_test:]}
    return {split: sorted(paths[i] for i in idx) for split, idx in parts.items()}


@rank_zero_only
def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ImagesDataModule(SquareImages):
    """Train/val/test splits of one image folder (or one domain of a two-domain set)."""

    Config = ImagesConfig

    @property
    def folder(self) -> Path:
        root = resolve_root(self.cfg.root)
        return root / self.cfg.path if self.cfg.path else root

    def image_paths(self) -> list[Path]:
        """Every image of the folder, or of the chosen domain's folders."""
        base, domain = self.folder, self.cfg.domain
        if not base.is_dir():
            holding = "images" if domain is None else "trainA/ testA/ ... or photo_jpg/ monet_jpg/"
            raise DataError(f"data folder {base} does not exist; set data.root=PATH or GENLAB_DATA_DIR (and "
                            f"data.path) so that it holds {holding}")
        if domain is None:
            return list_images(base)
        cyclegan = [base / f"{split}{domain}" for split in ("train", "test") if (base / f"{split}{domain}").is_dir()]
        if cyclegan:
            return sorted(p for folder in cyclegan for p in list_images(folder))
        kaggle = base / DEFAULT_FOLDERS["kaggle"]["AB".index(domain)]
        if kaggle.is_dir():
            return list_images(kaggle)
        raise DataError(f"data.domain={domain}: {base} holds neither train{domain}/ (CycleGAN layout) nor "
                        f"{kaggle.name}/ (Kaggle layout); set data.domain=null to read every image under it")

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        c = self.cfg
        paths = drop_unreadable(self.image_paths(), c.skip_bad_images, rank_zero_warn)
        if not paths:
            raise DataError(f"no readable images left under {self.folder}")
        splits = split_paths(paths, c.val_fraction, c.test_fraction, c.split_seed)
        _say(f"images under {self.folder}: {len(splits['train'])} train, {len(splits['val'])} val, "
                       f"{len(splits['test'])} test ({c.image_size} px, {c.channels} channel(s))")
        self.train_set = ImageFiles(splits["train"], image_transform(c, train=True), c.channels)
        self.val_set = ImageFiles(splits["val"], image_transform(c, train=False), c.channels)
        self.test_set = ImageFiles(splits["test"], image_transform(c, train=False), c.channels)

    def _loader(self, ds: Dataset) -> DataLoader:
        return DataLoader(ds, batch_size=self.cfg.batch_size, shuffle=False,
                          **loader_options(self, self.cfg.num_workers))

    def train_dataloader(self) -> DataLoader:
        return train_loader(self, self.train_set, self.cfg.batch_size, **loader_options(self, self.cfg.num_workers))

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set)
