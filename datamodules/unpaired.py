"""Unpaired images of two domains A and B for CycleGAN, in the CycleGAN folder layout or the Kaggle
"gan-getting-started" layout.

Which folder is domain A is explicit (``a_folder``/``b_folder``): the models translate A -> B with ``G_A``. In the
shared ``monet2photo`` set trainA/testA hold Monet paintings and trainB/testB photos, so the photo -> Monet
experiments set ``a_folder=B, b_folder=A`` (the official code's ``--direction BtoA``).
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from datamodules.base import loader_options, train_loader
from datamodules.image_files import drop_unreadable, list_images, load_rgb
from datamodules.schemas import UnpairedConfig
from genlab.core.data import DataInfo, resolve_root
from genlab.core.errors import DataError


def train_transform(load_size: int, crop_size: int, flip: bool) -> T.Compose:
    steps = [T.Resize((load_size, load_size), T.InterpolationMode.BICUBIC), T.RandomCrop(crop_size)]
    if flip:
        steps.append(T.RandomHorizontalFlip())
    return T.Compose([*steps, T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])


def eval_transform(crop_size: int) -> T.Compose:
    return T.Compose([T.Resize((crop_size, crop_size), T.InterpolationMode.BICUBIC), T.ToTensor(),
                      T.Normalize((0.5,) * 3, (0.5,) * 3)])


class UnalignedImages(Dataset):
    """max(|A|, |B|) items ``{"A": image, "B": image}``: item i pairs A[i mod |A|] with a random B (drawn from
    torch's seeded generator) or, when ``serial``, B[i mod |B|]. With ``mark_repeats`` (test split, serial) the
    items also say whether their A and B are seen for the first time, so metrics count every image once."""

    def __init__(self, paths_a: list[Path], paths_b: list[Path], transform, serial: bool, mark_repeats: bool = False):
        self.paths_a, self.paths_b, self.transform = paths_a, paths_b, transform
        self.serial, self.mark_repeats = serial, mark_repeats

    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        j = i % len(self.paths_b) if self.serial else int(torch.randint(len(self.paths_b), ()))
        item = {"A": self.transform(load_rgb(self.paths_a[i % len(self.paths_a)])),
                "B": self.transform(load_rgb(self.paths_b[j]))}
        if self.mark_repeats:
            item["A_valid"] = torch.tensor(i < len(self.paths_a))
            item["B_valid"] = torch.tensor(i < len(self.paths_b))
        return item


class UnpairedDataModule(pl.LightningDataModule):
    """Train and test splits of two unpaired image folders (no validation split, as in the official code)."""

    Config = UnpairedConfig

    def __init__(self, cfg: UnpairedConfig):
        super().__init__()
        self.cfg = cfg
        self.train_set: UnalignedImages | None = None
        self.test_set: UnalignedImages | None = None

    @property
    def info(self) -> DataInfo:
        return DataInfo((3, self.cfg.crop_size, self.cfg.crop_size), (-1.0, 1.0))

    @property
    def dataset_dir(self) -> Path:
        """``<root>/<path>``; or the root itself when it already is the dataset folder (it holds the layout's
        domain folders), so ``data.root`` may name either the folder of datasets or the dataset."""
        root = resolve_root(self.cfg.root)
        a, b = self.cfg.folders
        marker = f"train{a}" if self.cfg.layout == "cyclegan" else a
        return root if (root / marker).is_dir() and not (root / self.cfg.path).is_dir() else root / self.cfg.path

    def _split_files(self) -> dict[str, tuple[list[Path], list[Path]]]:
        """{"train": (A files, B files), "test": (A files, B files)}."""
        base = self.dataset_dir
        if not base.is_dir():
            layout = "trainA/ trainB/ testA/ testB/" if self.cfg.layout == "cyclegan" else "one folder per domain"
            raise DataError(f"data folder {base} does not exist; set data.root=PATH or GENLAB_DATA_DIR and data.path "
                            f"so that it holds {layout}")
        a, b = self.cfg.folders
        if self.cfg.layout == "cyclegan":
            return {split: (list_images(base / f"{split}{a}"), list_images(base / f"{split}{b}"))
                    for split in ("train", "test")}
        halves = [self._kaggle_split(list_images(base / folder), offset) for offset, folder in enumerate((a, b))]
        return {"train": (halves[0][0], halves[1][0]), "test": (halves[0][1], halves[1][1])}

    def _kaggle_split(self, paths: list[Path], offset: int) -> tuple[list[Path], list[Path]]:
        if len(paths) < 2:
            raise DataError(f"image folder {paths[0].parent} holds 1 image; a train/test split needs at least 2")
        gen = torch.Generator().manual_seed(self.cfg.split_seed + offset)
        order = torch.randperm(len(paths), generator=gen).tolist()
        n_test = min(max(1, round(self.cfg.test_fraction * len(paths))), len(paths) - 1)
        return sorted(paths[i] for i in order[n_test:]), sorted(paths[i] for i in order[:n_test])

    def _drop_unreadable(self, files: dict[str, tuple[list[Path], list[Path]]]):
        every = [p for pair in files.values() for paths in pair for p in paths]
        readable = set(drop_unreadable(every, self.cfg.skip_bad_images, rank_zero_warn))
        kept = {split: tuple([p for p in paths if p in readable] for paths in pair) for split, pair in files.items()}
        for split, pair in kept.items():
            for side, paths in zip("AB", pair, strict=True):
                if not paths:
                    raise DataError(f"no readable images left in the {split} split of domain {side}")
        return kept

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        files = self._drop_unreadable(self._split_files())
        c = self.cfg
        self.train_set = UnalignedImages(*files["train"], train_transform(c.load_size, c.crop_size, c.flip), c.serial)
        self.test_set = UnalignedImages(*files["test"], eval_transform(c.crop_size), serial=True, mark_repeats=True)

    def train_dataloader(self) -> DataLoader:
        return train_loader(self, self.train_set, self.cfg.batch_size, shuffle=not self.cfg.serial,
                            **loader_options(self, self.cfg.num_workers))

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.test_set, batch_size=self.cfg.test_batch_size, shuffle=False,
                          **loader_options(self, self.cfg.num_workers))
