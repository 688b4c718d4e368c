"""The scripts end to end: a short CycleGAN run through scripts/train.py on the shared images (read back from its
offline W&B run), scripts/evaluate.py on its checkpoint, and scripts/translate.py on a folder of odd images."""

import json
from pathlib import Path

import pytest
from PIL import Image

from datamodules.image_files import list_images
from genlab.core.errors import ConfigError
from genlab.runner.tools.translate import translate
from tests.helpers import FAST, SHARED_DATA, call_script, run_script, with_args
from tests.helpers import TINY_CYCLEGAN as TINY
from tests.wandb_offline import read_offline_run

LOSSES = ["train/D_A", "train/G_A", "train/cycle_A", "train/idt_A", "train/D_B", "train/G_B", "train/cycle_B",
          "train/idt_B"]
TEST_METRICS = ["test/cycle_l1_A", "test/cycle_l1_B", "test/idt_l1_A", "test/idt_l1_B", "test/kid_AtoB",
                "test/kid_BtoA", "test/fid_AtoB", "test/fid_BtoA", "test/mifid_AtoB"]

pytestmark = pytest.mark.slow  # real subprocesses of the scripts


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cyclegan") / "run"
    result = run_script("train.py", *TINY, *FAST, "callbacks.image_every_n_steps=4", f"run_dir={path}")
    assert result.returncode == 0, result.stderr[-3000:]
    return path


def test_short_run_logs_the_eight_losses_lr_panels_and_test_metrics(run_dir):
    run = read_offline_run(run_dir)
    assert set(LOSSES) | {"train/lr"} <= run.keys()
    assert all(len(run.values(key)) == 8 for key in LOSSES)  # one row per batch (log_every_n_steps=1)
    assert run.values("train/lr") == [pytest.approx(2e-4)] * 8
    assert {"images/AtoB/filenames", "images/BtoA/filenames"} <= run.keys()
    # panels at batches 0 and 4 and at the epoch's end, for both directions
    assert len(run.values("images/AtoB/filenames")) == len(run.values("images/BtoA/filenames")) == 3
    assert len(run.files) == 6 and all(f.stat().st_size > 0 for f in run.files)
    assert set(TEST_METRICS) <= set(run.summary)
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


def test_evaluate_reports_every_metric_of_the_checkpoint(run_dir):
    result = call_script("evaluate.py", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(TEST_METRICS) <= set(metrics)
    summary = read_offline_run(run_dir).summary  # the end-of-training test of the same weights
    assert all(metrics[k] == pytest.approx(summary[k], rel=1e-5) for k in TEST_METRICS)


def test_translate_writes_one_output_per_input_with_its_size(run_dir, tmp_path):
    source = tmp_path / "photos"
    (source / "more").mkdir(parents=True)
    photo = list_images(SHARED_DATA / "monet2photo" / "testB")[0]
    (source / photo.name).write_bytes(photo.read_bytes())
    image = Image.open(photo)
    image.resize((45, 38)).convert("L").save(source / "gray.png")  # not divisible by 4
    image.resize((40, 32)).convert("RGBA").save(source / "more" / "clear.webp")
    result = call_script("translate.py", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", f"input={source}",
                        f"output={tmp_path / 'out'}", "direction=AtoB", "batch_size=2")
    assert result.returncode == 0, result.stderr[-3000:]
    inputs = sorted(p.relative_to(source) for p in list_images(source))
    outputs = sorted(p.relative_to(tmp_path / "out") for p in list_images(tmp_path / "out"))
    assert outputs == inputs
    for rel in inputs:
        out = Image.open(tmp_path / "out" / rel)
        assert out.size == Image.open(source / rel).size and out.mode == "RGB"


def test_translate_refuses_bad_arguments(run_dir, tmp_path):
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match="direction='sideways'"):
        translate(ckpt, SHARED_DATA / "monet2photo" / "testB", tmp_path / "out", direction="sideways")
    with pytest.raises(ConfigError, match="is the input folder"):
        translate(ckpt, SHARED_DATA / "monet2photo" / "testB", SHARED_DATA / "monet2photo" / "testB")


def test_train_rejects_a_crop_larger_than_the_load_size(cli, tmp_path):
    result = cli("train.py", *with_args(TINY, "data.crop_size=64"), f"run_dir={tmp_path / 'never'}")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: data.crop_size=64: must be <= data.load_size (36): the random crop is taken from the resized image"]
    assert not (tmp_path / "never").exists()
