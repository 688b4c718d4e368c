"""The datamodules' config schemas and the choices they check, without torch: composing a config, ``--help`` and
``--cfg`` read them and never import a datamodule (see "Imports that start fast" in docs/architecture.md). Each
datamodule uses its schema as ``Config``; ``DATAMODULES`` in ``datamodules/__init__.py`` pairs the two."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genlab.core.schema import DataConfig, check, check_choice, described

BINARIZE = ("none", "dynamic", "static")
RANGES = ([0.0, 1.0], [-1.0, 1.0])  # pixels in [0, 1], or in [-1, 1] for tanh generators
LAYOUTS = ("cyclegan", "kaggle")
# (domain A, domain B) when a_folder/b_folder are not given
DEFAULT_FOLDERS = {"cyclegan": ("A", "B"), "kaggle": ("photo_jpg", "monet_jpg")}
CROPS = ("center", "random")
DOMAINS = ("A", "B")


@dataclass
class MNISTConfig(DataConfig):
    batches: ClassVar[str] = "labelled images"  # (images, labels)

    name: str = described("mnist", "the datamodule (its name in datamodules.DATAMODULES)")
    batch_size: int = described(128, "images per training batch")
    val_size: int = described(5000, "training images held out for validation")
    split_seed: int = described(0, "seed of the train/validation split")
    image_size: int = described(28, "28, or 32: pads two pixels of background on each side (DCGAN's power-of-two "
                                "sizes)")
    value_range: list[float] = described([0.0, 1.0], "pixel range: [0, 1], or [-1, 1] for tanh generators")
    binarize: str = described("none", "none; dynamic: a fresh Bernoulli draw per training item (eval splits fixed "
                              "by seed); static: one seeded draw")
    download: bool = described(True, "download MNIST (torchvision) when it is not under data.root")

    def item_values(self) -> int:
        return self.image_size ** 2  # one grey digit

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0 < self.val_size < 60000, "val_size", self.val_size, "must be in 1..59999")
        check(self.image_size in (28, 32), "image_size", self.image_size, "must be 28 or 32")
        check([float(v) for v in self.value_range] in RANGES, "value_range", self.value_range,
              "must be [0, 1] or [-1, 1]")
        check_choice("binarize", self.binarize, BINARIZE)
        check(self.binarize == "none" or self.value_range[0] == 0, "binarize", self.binarize,
              "binarized pixels are {0, 1}: use data.value_range=[0,1]")


@dataclass
class UnpairedConfig(DataConfig):
    batches: ClassVar[str] = "unpaired images"  # {"A": ..., "B": ...}

    name: str = described("unpaired", "the datamodule (its name in datamodules.DATAMODULES)")
    batch_size: int = described(1, "image pairs per training batch")
    test_batch_size: int = described(8, "test batch size: translation is per image (instance norm), so it only "
                                     "changes speed")
    path: str = described("monet2photo", "the dataset's folder under data.root")
    layout: str = described("cyclegan", "cyclegan: <path>/{trainA,trainB,testA,testB}; kaggle: "
                            "<path>/{photo_jpg,monet_jpg}")
    a_folder: str | None = described(None, "domain A: A/B (cyclegan layout) or a folder name (kaggle); null: A / "
                                     "photo_jpg")
    b_folder: str | None = described(None, "domain B; null: B / monet_jpg")
    load_size: int = described(286, "train: bicubic resize to load_size x load_size, then a random crop_size crop")
    crop_size: int = described(256, "train: random crop size; test: bicubic resize to crop_size x crop_size")
    flip: bool = described(True, "random horizontal flip when training")
    serial: bool = described(False, "pair A[i] with B[i] instead of a random B per item")
    test_fraction: float = described(0.1, "kaggle layout: share of each domain held out as the test split")
    split_seed: int = described(0, "seed of the kaggle layout's train/test split")
    skip_bad_images: bool = described(False, "skip unreadable files with one warning instead of failing")

    def item_values(self) -> int:
        return 2 * 3 * self.crop_size ** 2  # an RGB crop of each domain

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.test_batch_size >= 1, "test_batch_size", self.test_batch_size, "must be >= 1")
        check_choice("layout", self.layout, LAYOUTS)
        check(self.crop_size >= 4 and self.crop_size % 4 == 0, "crop_size", self.crop_size,
              "must be a positive multiple of 4 (the generator halves the image twice)")
        check(self.crop_size <= self.load_size, "crop_size", self.crop_size,
              f"must be <= data.load_size ({self.load_size}): the random crop is taken from the resized image")
        check(0 < self.test_fraction < 1, "test_fraction", self.test_fraction, "must be in (0, 1)")
        a, b = self.folders
        if self.layout == "cyclegan":
            for key, value in (("a_folder", a), ("b_folder", b)):
                check(value in ("A", "B"), key, value, "must be A or B in the cyclegan layout (trainA/ or trainB/)")
        check(a != b, "b_folder", b, "must differ from data.a_folder")

    @property
    def folders(self) -> tuple[str, str]:
        default_a, default_b = DEFAULT_FOLDERS[self.layout]
        return self.a_folder or default_a, self.b_folder or default_b


@dataclass
class ImagesConfig(DataConfig):
    batches: ClassVar[str] = "labelled images"  # (image, 0): one class, so MNIST's models and callbacks read them

    name: str = described("images", "the datamodule (its name in datamodules.DATAMODULES)")
    batch_size: int = described(32, "images per training batch")
    path: str | None = described(None, "folder under data.root; null: data.root itself is the image folder")
    domain: str | None = described(None, "A or B: one domain of a CycleGAN (trainX + testX) or Kaggle "
                                   "(photo_jpg/monet_jpg) set; null: a plain folder")
    image_size: int = described(64, "square side of every image")
    load_size: int | None = described(None, "shorter side before cropping; null: image_size (a random crop then "
                                      "moves along the longer side only)")
    crop: str = described("center", "training crop: center or random (validation and test crop the centre)")
    flip: bool = described(False, "random horizontal flip of training images")
    channels: int = described(3, "3: RGB; 1: grey (luma)")
    value_range: list[float] = described([-1.0, 1.0], "pixel range: [-1, 1], or [0, 1] for sigmoid outputs")
    val_fraction: float = described(0.05, "share of the images held out for validation")
    test_fraction: float = described(0.1, "share of the images held out for testing")
    split_seed: int = described(0, "seed of the train/validation/test split")
    skip_bad_images: bool = described(False, "skip unreadable files with one warning instead of failing")

    def item_values(self) -> int:
        return self.channels * self.image_size ** 2

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.image_size >= 8, "image_size", self.image_size, "must be >= 8")
        check(self.load_size is None or self.load_size >= self.image_size, "load_size", self.load_size,
              f"must be >= data.image_size ({self.image_size}): the crop is taken from the resized image")
        check_choice("crop", self.crop, CROPS)
        check(self.channels in (1, 3), "channels", self.channels, "must be 1 (grey) or 3 (RGB)")
        check([float(v) for v in self.value_range] in RANGES, "value_range", self.value_range,
              "must be [0, 1] or [-1, 1]")
        check(self.domain is None or self.domain in DOMAINS, "domain", self.domain,
              "must be A or B (one domain of a CycleGAN/Kaggle layout), or null for a plain folder")
        check(0 <= self.val_fraction < 1, "val_fraction", self.val_fraction, "must be in [0, 1)")
        check(0 <= self.test_fraction < 1, "test_fraction", self.test_fraction, "must be in [0, 1)")
        check(self.val_fraction + self.test_fraction < 1, "test_fraction", self.test_fraction,
              f"plus data.val_fraction ({self.val_fraction}) must leave images to train on (< 1)")
