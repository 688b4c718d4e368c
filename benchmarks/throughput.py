"""Images per second and peak memory of one training step of each model, fast paths off and on, and each
DataModule's own delivery rate; prints a markdown table.

    PYTHONPATH=. python benchmarks/throughput.py [--models ae vae gan cyclegan128 cyclegan256]
        [--paths default channels_last compile bf16-mixed] [--steps 20] [--warmup 5] [--accelerator auto]
        [--threads 1] [--tiny]

Model rows: the real Trainer (no logger, no checkpoints, no validation) fits the model for warm-up + timed steps
on one real batch repeated in memory, so the number is the model's consumption, not its loader's; a clock
callback stamps every batch end. A path is ``model.channels_last=true``, ``model.compile=true`` or a
``trainer.precision`` value (e.g. ``bf16-mixed``, ``16-mixed`` on a GPU). Peak memory is the CUDA allocator's
peak on a GPU; on a CPU it is not measured per row (one process runs every row). Data rows: batches drawn from
the DataModule's own train loader with its default workers; "x model" is that rate over the default path's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pytorch_lightning as pl
import torch
from machine import cpu_name
from overhead import BatchEndClock, per_step

from genlab.runner.cli import with_args
from genlab.runner.config import compose
from genlab.runner.run.build import build_datamodule, build_model, trainer_kwargs

CYCLEGAN_128 = ["experiment=cyclegan_monet", "data.load_size=143", "data.crop_size=128", "model.n_blocks=6"]
MODELS = {"ae": ["experiment=ae_mnist"], "vae": ["experiment=vae_mnist"], "gan": ["experiment=gan_mnist"],
          "cyclegan128": CYCLEGAN_128, "cyclegan256": ["experiment=cyclegan_monet"]}
TINY = {"ae": ["model.hidden=[32]", "model.latent_dim=4", "data.batch_size=8"],
        "vae": ["model.hidden=[32]", "model.latent_dim=4", "data.batch_size=8"],
        "gan": ["model.ngf=4", "model.ndf=4", "data.batch_size=8"],
        "cyclegan128": ["model.ngf=4", "model.ndf=4", "model.n_blocks=1", "data.load_size=36", "data.crop_size=32",
                        "data.num_workers=0"],
        "cyclegan256": ["model.ngf=4", "model.ndf=4", "model.n_blocks=1", "data.load_size=36", "data.crop_size=32",
                        "data.num_workers=0"]}
PATHS = {"default": [], "channels_last": ["model.channels_last=true"], "compile": ["model.compile=true"]}


def path_overrides(path: str) -> list[str]:
    return PATHS.get(path, [f"trainer.precision={path}"])


class Repeat:
    """One batch ``n`` times: an iterable loader (a plain list would be taken for a list of loaders)."""

    def __init__(self, batch, n: int):
        self.batch, self.n = batch, n

    def __iter__(self):
        return (self.batch for _ in range(self.n))

    def __len__(self) -> int:
        return self.n


def batch_images(batch) -> int:
    first = batch["A"] if isinstance(batch, dict) else batch[0]
    return len(first)


def model_rate(overrides: list[str], steps: int, warmup: int, accelerator: str, root: str) -> tuple[float, float]:
    """(images/s, peak CUDA memory in MiB or nan) of the model's training step."""
    cfg = compose(with_args(overrides, f"trainer.accelerator={accelerator}", "trainer.devices=1",
                            "trainer.max_epochs=1", f"max_batches={warmup + steps}", "trainer.limit_val_batches=0",
                            "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false", "seed=0"))
    pl.seed_everything(0, verbose=False)
    datamodule = build_datamodule(cfg)
    model = build_model(cfg, datamodule)
    datamodule.prepare_data()
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    clock = BatchEndClock()
    trainer = pl.Trainer(default_root_dir=root, logger=False, enable_checkpointing=False, callbacks=[clock],
                         **{k: v for k, v in trainer_kwargs(cfg, model).items() if k != "limit_train_batches"})
    cuda = trainer.strategy.root_device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.fit(model, train_dataloaders=Repeat(batch, warmup + steps))
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")
    return batch_images(batch) / per_step(clock.stamps, warmup), peak


def data_rate(overrides: list[str], batches: int) -> tuple[float, int]:
    """(images/s, workers) of the DataModule's own train loader over ``batches`` batches after one."""
    cfg = compose(with_args(overrides, "seed=0"))
    datamodule = build_datamodule(cfg)
    datamodule.prepare_data()
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    it = iter(loader)
    next(it)  # workers started, first batch out
    start, images = time.perf_counter(), 0
    for _ in range(batches):
        try:
            images += batch_images(next(it))
        except StopIteration:
            break
    return images / (time.perf_counter() - start), loader.num_workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--paths", nargs="+", default=["default", "channels_last", "compile", "bf16-mixed"])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps (compilation happens here)")
    parser.add_argument("--data-batches", type=int, default=50)
    parser.add_argument("--accelerator", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="tiny nets and images, few steps: a smoke test")
    args = parser.parse_args()
    if args.tiny:
        args.steps, args.warmup, args.data_batches = 2, 1, 2
    torch.set_num_threads(args.threads)
    device = torch.cuda.get_device_name() if args.accelerator != "cpu" and torch.cuda.is_available() else cpu_name()
    print(f"\n{device}, {os.cpu_count()} CPU cores, torch {torch.__version__}, threads {args.threads}, "
          f"{time.strftime('%Y-%m-%d')}, load average at start {os.getloadavg()[0]:.1f}; {args.warmup} warm-up + "
          f"{args.steps} timed steps{' (TINY MODE: not a result)' if args.tiny else ''}\n")
    print("| model | path | images/s | peak MiB | note |")
    print("|---|---|---:|---:|---|", flush=True)

    def row(name: str, path: str, rate: float, peak: float = float("nan"), note: str = "") -> None:
        # one row at a time, so a run stopped by a time limit keeps the rows it finished
        print(f"| {name} | {path} | {rate:.1f} | {'-' if peak != peak else f'{peak:.0f}'} | {note} |", flush=True)

    with tempfile.TemporaryDirectory() as root:
        for name in args.models:
            overrides = with_args(MODELS[name], *(TINY[name] if args.tiny else []))
            default_rate = None
            for path in args.paths:
                try:
                    rate, peak = model_rate(with_args(overrides, *path_overrides(path)), args.steps, args.warmup,
                                            args.accelerator, root)
                except Exception as e:  # noqa: BLE001 - a path this machine lacks is a row, not the end of the table
                    row(name, path, float("nan"), note=f"failed: {str(e).splitlines()[0][:100] if str(e) else e!r}")
                    continue
                default_rate = rate if path == "default" else default_rate
                row(name, path, rate, peak)
            rate, workers = data_rate(overrides, args.data_batches)
            row(name, f"DataModule, {workers} workers", rate,
                note=f"{rate / default_rate:.1f}x model" if default_rate else "")

if __name__ == "__main__":
    main()
