"""What every datamodule shares: seeded per-item randomness and a resumable training order."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from genlab.core.data import DataInfo
from genlab.core.schema import DataConfig


def _item_seed(seed: int, epoch: int, index: int) -> int:
    """One seed per (run seed, epoch, item), mixed so that neighbouring items get unrelated streams."""
    return (seed * 1_000_003 + epoch * 7_919 + index) * 2_654_435_761 % (2**63)


def _int64(value: int) -> int:
    """A 64-bit constant as the signed value torch's int64 holds for the same bits."""
    return value - 2**64 if value >= 2**63 else value


_GAMMA, _MIX1, _MIX2 = (_int64(c) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB))


def _shift_right(z: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 bits (torch's ``>>`` is arithmetic, and uint64 has no shifts)."""
    return (z >> bits) & (2 ** (64 - bits) - 1)


def item_uniforms(seeds: list[int], n: int) -> torch.Tensor:
    """(len(seeds), n) uniforms in [0, 1): the first n outputs of splitmix64 (Steele et al. 2014) from each seed.

    An item's numbers depend on its seed alone, as under ``SeededItems``' per-item generator, but a whole batch
    takes a few tensor operations: re-seeding torch's generator item by item cost 7.6 ms per MNIST batch of 128,
    a fifth of a VAE step on one CPU thread. int64 products and sums wrap modulo 2**64, which the algorithm needs
    (the tests compare with Python integers)."""
    z = torch.tensor(seeds, dtype=torch.int64)[:, None] + torch.arange(1, n + 1, dtype=torch.int64) * _GAMMA
    z = (z ^ _shift_right(z, 30)) * _MIX1
    z = (z ^ _shift_right(z, 27)) * _MIX2
    z = z ^ _shift_right(z, 31)
    return _shift_right(z, 40).to(torch.float32) * 2.0**-24


class SeededItems(Dataset):
    """A training set whose random per-item transforms (crops, flips, binarization, the random B of CycleGAN)
    draw from a generator seeded by (seed, epoch, index) instead of the process-wide one.

    Item randomness then does not depend on which process or worker loads the item, on Lightning's batch
    prefetching, or on where a run was stopped and resumed: an exact resume needs all three. Items are
    requested as ``(epoch, index)`` by ``ResumableSampler``. A set that can take its draws from the items' seeds
    itself (``seeded_items(indices, seeds)``, e.g. through ``item_uniforms``) is read a batch at a time.
    """

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: int | tuple[int, int]):
        if isinstance(key, int):  # a plain index, as other readers of the set ask: the usual process-wide draws
            return self.dataset[key]
        if hasattr(self.dataset, "seeded_items"):
            return self.__getitems__([key])[0]
        epoch, index = key
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(_item_seed(self.seed, epoch, index))
            return self.dataset[index]

    def __getitems__(self, keys: list):
        """A batch at once where the set can: without random draws through its own ``__getitems__``, with them
        through ``seeded_items``; item by item, each under its own seed, otherwise."""
        if not getattr(self.dataset, "random_items", True):
            batched = getattr(self.dataset, "__getitems__", None)
            if batched is not None:
                return batched([key if isinstance(key, int) else key[1] for key in keys])
        elif hasattr(self.dataset, "seeded_items") and not any(isinstance(key, int) for key in keys):
            return self.dataset.seeded_items([index for _, index in keys],
                                             [_item_seed(self.seed, epoch, index) for epoch, index in keys])
        return [self[key] for key in keys]


class ResumableSampler(DistributedSampler):
    """This rank's share of an order that is a function of (seed, epoch) alone, and can start part-way through an
    epoch: torch's ``DistributedSampler`` order (shuffled by ``seed + epoch``, padded to a multiple of the ranks,
    every ``num_replicas``-th item from ``rank``), with items requested as ``(epoch, index)``.

    Being a ``DistributedSampler``, Lightning keeps it under DDP instead of injecting its own (which could not
    resume). Lightning calls ``set_epoch`` at every epoch start; ``skip`` makes the next pass start after the
    items this rank had already trained on. One process is ``num_replicas=1, rank=0``.
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True, num_replicas: int = 1, rank: int = 0):
        super().__init__(range(size), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.skip = 0

    def __iter__(self):
        epoch, skip, self.skip = self.epoch, self.skip, 0
        for index in list(super().__iter__())[skip:]:
            yield epoch, index


class ResumableLoader(DataLoader):
    """A training loader Lightning can save and restore mid-epoch: it calls ``state_dict``/``load_state_dict`` on
    loaders that have them and keeps the result in the checkpoint's loop state.

    The position saved is the number of batches handed out this epoch; Lightning fetches a sized loader without
    prefetching, so that is the number the training loop has consumed. Under DDP the ranks train in lockstep on
    equal shares, so that number is every rank's: Lightning keeps only rank 0's loader state in the checkpoint,
    and it restores each rank's position. (torchdata's ``StatefulDistributedSampler`` would do the same, but is not
    a dependency, and genlab's per-item seeding needs ``(epoch, index)`` keys anyway.)
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, shuffle: bool = True, num_replicas: int = 1,
                 rank: int = 0, **kwargs):
        self.resumable_sampler = ResumableSampler(len(dataset), seed, shuffle, num_replicas, rank)
        # its own generator: DataLoader draws a worker base seed at every iter(), which would otherwise advance
        # the process-wide generator at each epoch start (models' noise and dropout draw from it)
        super().__init__(SeededItems(dataset, seed), batch_size=batch_size, sampler=self.resumable_sampler,
                         generator=torch.Generator().manual_seed(seed), **kwargs)
        self._yielded = 0

    def __iter__(self):
        self._yielded = self.resumable_sampler.skip // self.batch_size
        for batch in super().__iter__():
            self._yielded += 1
            yield batch

    def state_dict(self) -> dict:
        return {"epoch": self.resumable_sampler.epoch, "batches": self._yielded}

    def load_state_dict(self, state: dict) -> None:
        self.resumable_sampler.epoch = state["epoch"]
        self.resumable_sampler.skip = state["batches"] * self.batch_size


def loader_options(datamodule, num_workers: int) -> dict:
    """Worker processes as configured, kept alive between epochs; pinned host memory when training on CUDA, so
    the copy to the GPU can overlap the step (Lightning moves the batch with ``non_blocking`` then)."""
    trainer = getattr(datamodule, "trainer", None)
    on_cuda = trainer is not None and trainer.strategy.root_device.type == "cuda"
    return {"num_workers": num_workers, "persistent_workers": num_workers > 0, "pin_memory": on_cuda}


def train_loader(datamodule, dataset: Dataset, batch_size: int, shuffle: bool = True, **kwargs) -> DataLoader:
    """The training loader, resumable and order-exact mid-epoch, in one process and under DDP (this rank's share)."""
    trainer = getattr(datamodule, "trainer", None)
    ranks = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
    # pl.seed_everything(cfg.seed) ran before the loaders were made (on every rank), so this is the run's seed
    return ResumableLoader(dataset, batch_size, seed=torch.initial_seed(), shuffle=shuffle, num_replicas=ranks[0],
                           rank=ranks[1], **kwargs)


class SquareImages(pl.LightningDataModule):
    """A datamodule of square images: its typed config (``image_size`` and ``value_range`` keys), the splits that
    ``setup`` makes, and its ``DataInfo``; a subclass says its channels and classes when they are fixed."""

    num_classes: int | None = None  # None: no real labels (the batches' labels are all 0)

    def __init__(self, cfg: DataConfig):
        super().__init__()
        self.cfg = cfg
        self.train_set = self.val_set = self.test_set = None

    @property
    def channels(self) -> int:
        return self.cfg.channels

    @property
    def info(self) -> DataInfo:
        lo, hi = (float(v) for v in self.cfg.value_range)
        size = self.cfg.image_size
        return DataInfo((self.channels, size, size), (lo, hi), num_classes=self.num_classes)
