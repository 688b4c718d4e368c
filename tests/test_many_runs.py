"""Many runs end to end through the real scripts: a seed sweep through submitit's local executor, a run started
the way a W&B agent starts one, their comparison from disk and from W&B-shaped records, evaluate's metrics in
the W&B record, and the one-line errors."""

from __future__ import annotations

import csv
import json
import re
import statistics

import pytest
import yaml
from PIL import Image

from genlab.runner.run.threads import share, usable_cores
from genlab.runner.tools import compare
from tests.helpers import FAST, REPO, call_script, run_script, with_args
from tests.wandb_offline import ApiShapedRun, read_offline_run

pytestmark = pytest.mark.slow
TINY_AE = ["experiment=ae_mnist", *with_args(FAST, "trainer.limit_train_batches=4"), "model.hidden=[32]"]


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory, data_dir):
    """runs/ae_mnist/multirun (seed=1,2 at latent_dim=2, through --launcher local) and one run at latent_dim=3
    started like a W&B agent starts it (--key=value, WANDB_SWEEP_ID and the run id W&B chose in the env)."""
    cwd = tmp_path_factory.mktemp("many")
    sweep = run_script("train.py", "--multirun", *TINY_AE, "seed=1,2", "model.latent_dim=2",
                       f"run_dir={cwd / 'runs' / 'ae_mnist' / 'multirun'}", "--launcher", "local", cwd=cwd)
    assert sweep.returncode == 0, sweep.stdout[-2000:] + sweep.stderr[-3000:]
    agent = run_script("train.py", *TINY_AE, "--model.latent_dim=3", "--seed=1", cwd=cwd,
                       env={"WANDB_SWEEP_ID": "abc123", "WANDB_RUN_ID": "chosen1"})
    assert agent.returncode == 0, agent.stderr[-3000:]
    return cwd, sweep


def test_multirun_makes_one_folder_per_value_in_one_group(runs_root):
    cwd, sweep = runs_root
    sweep_dir = cwd / "runs" / "ae_mnist" / "multirun"
    folders = sorted(p.name for p in sweep_dir.iterdir() if p.name != "submitit")
    assert folders == ["0-seed=1", "1-seed=2"]  # only swept keys name the folders
    groups = set()
    for name, seed in zip(folders, (1, 2), strict=True):
        config = yaml.safe_load((sweep_dir / name / "config.yaml").read_text())
        assert (config["seed"], config["model"]["latent_dim"]) == (seed, 2)
        assert (sweep_dir / name / "checkpoints" / "last.ckpt").is_file()
        record = read_offline_run(sweep_dir / name)
        assert record.job_types == ["train"] and record.run_id == (sweep_dir / name / "wandb_id.txt").read_text()
        groups.add(record.group)
    assert groups == {"ae_mnist-multirun"}
    assert "2 of 2 runs finished" in sweep.stdout and "± " in sweep.stdout  # the compare table of the seeds
    # a line as each run starts and ends, then the group and how to upload
    for i, name in enumerate(folders):
        best = min(_csv_column(sweep_dir / name, "val/loss"))
        assert f"[{i + 1}/2] start seed={i + 1} -> {sweep_dir / name}\n" in sweep.stdout
        assert re.search(rf"\[{i + 1}/2\] done \(exit 0, [0-9.]+ s, val/loss best {best:.4g}\) "
                         rf"{re.escape(str(sweep_dir / name))}\n", sweep.stdout), sweep.stdout
    assert sweep.stdout.rstrip().splitlines()[-1] == ("W&B group: ae_mnist-multirun; upload the offline runs with: "
                                                      f"wandb sync {sweep_dir}/*/wandb/offline-run-*")


def test_an_agent_run_records_the_id_wandb_gave_and_names_the_sweep(runs_root):
    cwd, _ = runs_root
    (run_dir,) = (cwd / "runs" / "ae_mnist" / "sweep-abc123").iterdir()
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["model"]["latent_dim"] == 3 and "sweep-abc123" in config["run_dir"]
    record = read_offline_run(run_dir)
    assert (run_dir / "wandb_id.txt").read_text() == "chosen1" == record.run_id
    # what the shipped sweep files optimise: the best validation loss so far, a plain number
    sweep_metric = yaml.safe_load((REPO / "configs" / "sweep" / "ae_mnist.yaml").read_text())["metric"]["name"]
    assert record.values(sweep_metric) == [min(record.values("val/loss"))]


def _csv_column(run_dir, key):
    with (run_dir / "csv" / "version_0" / "metrics.csv").open() as f:
        return [float(row[key]) for row in csv.DictReader(f) if row[key]]


def test_compare_shows_the_differing_keys_and_the_seed_mean_and_std(runs_root, tmp_path):
    cwd, _ = runs_root
    out = tmp_path / "val_loss.png"
    result = run_script("compare.py", "runs", "--format", "csv", "--plot", "val/loss", "--plot-out", str(out),
                        cwd=cwd)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert list(rows[0])[:2] == ["model.latent_dim", "n"]
    by_dim = {row["model.latent_dim"]: row for row in rows}
    assert by_dim["2"]["n"] == "2" and by_dim["3"]["n"] == "1"
    seeds = sorted((cwd / "runs" / "ae_mnist" / "multirun").glob("[0-9]-*"))
    best = [min(_csv_column(d, "val/loss")) for d in seeds]
    assert by_dim["2"]["val/loss (min)"] == f"{statistics.fmean(best):.4g} ± {statistics.stdev(best):.2g}"
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > 200

    runs = compare.runs_from_folders([cwd / "runs"])  # the same steps in-process: each script start costs seconds
    ungrouped = compare.render(compare.build_table(runs, by_seed=False), "csv").splitlines()
    assert ungrouped[0].split(",")[:3] == ["run", "model.latent_dim", "seed"] and len(ungrouped) == 4
    filtered = compare.build_table(compare.select(runs, [("model.latent_dim", "3")], "runs"))
    assert len(filtered.rows) == 1 and filtered.groups[0][0].config["model.latent_dim"] == 3


def test_wandb_api_records_of_the_same_runs_give_the_same_table(runs_root):
    cwd, _ = runs_root
    folders = sorted(p.parent for p in (cwd / "runs").rglob("config.yaml"))
    from_disk = compare.build_table(compare.runs_from_folders(map(str, folders)))
    from_wandb = compare.build_table(compare.runs_from_wandb_api([ApiShapedRun(d) for d in folders]))
    assert from_wandb.header == from_disk.header
    assert [[str(c) for c in row] for row in from_wandb.rows] == [[str(c) for c in row] for row in from_disk.rows]


def test_evaluate_metrics_reach_the_runs_wandb_record_and_csv(runs_root):
    cwd, _ = runs_root
    run_dir = cwd / "runs" / "ae_mnist" / "multirun" / "0-seed=1"
    before = read_offline_run(run_dir)
    result = call_script("evaluate.py", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}",
                         "trainer.limit_test_batches=3", "trainer.enable_progress_bar=false")
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    after = read_offline_run(run_dir)
    assert after.job_types == ["train", ""] and after.run_id == before.run_id  # evaluating keeps the job type
    assert after.values("test/mse")[-1] == metrics["test/mse"] == after.summary["test/mse"]
    assert len(after.values("test/mse")) == len(before.values("test/mse")) + 1
    assert _csv_column(run_dir, "val/loss")  # training's copy is kept; evaluate adds a version
    with (run_dir / "csv" / "version_1" / "metrics.csv").open() as f:
        assert float(next(csv.DictReader(f))["test/mse"]) == metrics["test/mse"]


def test_a_failed_run_does_not_stop_the_sweep_and_runs_share_the_cores(tmp_path, data_dir):
    result = run_script("train.py", "--multirun", *TINY_AE, f"data.root={tmp_path / 'none'},"
                        f"{data_dir}", f"run_dir={tmp_path / 'sweep'}", "--jobs", "2", cwd=tmp_path,
                        env={"OMP_NUM_THREADS": None})
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("failed:")]
    assert "1 of 2 runs finished" in result.stdout and len(failed) == 1
    log = failed[0].split("(log: ")[1].rstrip(")")
    assert "MNIST not found" in open(log).read()
    assert re.search(r"\[1/2\] FAILED \(exit 2, [0-9.]+ s\) .* \(log: ", result.stdout), result.stdout
    # two runs at once: each says it took half the cores (torch would give each all of them)
    (ok_log,) = [p for p in (tmp_path / "sweep").glob("*/train.log") if str(p) != log]
    threads = share(usable_cores(), 2)
    assert f"genlab: threads: {threads} ({threads} core" in ok_log.read_text()


@pytest.mark.parametrize("script, args, expected", [
    ("compare.py", ["nowhere"], "no runs found in nowhere"),
    ("train.py", ["--multirun", "experiment=ae_mnist", "seed=1,,2"], "has an empty item"),
    ("train.py", ["--multirun", "experiment=ae_mnist", "seed=1,2", "model.latnt_dim=2,3"], "did you mean"),
    ("check_sweep.py", ["BAD"], "unknown config key 'model.nope'"),
])
def test_bad_input_is_one_line(tmp_path, script, args, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text("command: [experiment=ae_mnist]\nparameters:\n  model.nope:\n    values: [1, 2]\n")
    result = run_script(script, *[str(bad) if a == "BAD" else a for a in args], cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and expected in lines[0], result.stderr[-2000:]
    assert not (tmp_path / "runs").exists()


def test_compare_rejects_an_unknown_metric(runs_root):
    cwd, _ = runs_root
    result = run_script("compare.py", "runs", "--plot", "val/nope", cwd=cwd)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "val/nope" in lines[0] and "val/loss" in lines[0]


def test_shipped_sweep_files_compose():
    result = run_script("check_sweep.py", *map(str, sorted((REPO / "configs" /
                                                             "sweep").glob("*.yaml"))))
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
