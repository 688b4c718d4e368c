"""Each benchmark script runs end to end in its tiny mode (no timing asserted): the Python scripts as their
``__main__`` in this process (``tests.helpers.call_benchmark``), gpu.sh as a real subprocess."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests.helpers import FAST, REPO, call_benchmark, child_env, with_args

sys.path.insert(0, str(REPO / "benchmarks"))  # the benchmark scripts import their siblings by name

import peers  # noqa: E402
import vae_recipes  # noqa: E402
from gan_recipes import RECIPES, CpuMarks, recipe_overrides  # noqa: E402


def run(*cmd: str, env: dict | None = None) -> str:
    done = subprocess.run(list(cmd), cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=child_env({"OMP_NUM_THREADS": "1", "PYTHON": sys.executable, **(env or {})}))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith(f"| {first_cell} ")]


@pytest.mark.slow
def test_overhead_tiny_times_the_same_work_in_both_loops():
    out = call_benchmark("overhead.py", "--tiny",
              "--variant", "nobar=trainer.enable_progress_bar=false")
    assert "TINY MODE" in out
    for kind in ("ae", "vae", "gan"):
        rows = {r[1]: r for r in table_rows(out, kind)}
        assert set(rows) == {"plain", "genlab", "genlab nobar"}
        assert all(float(r[2]) > 0 for r in rows.values())
        # same seed, same networks, same batches: the same loss after the same steps
        assert math.isclose(float(rows["plain"][6]), float(rows["genlab"][6]), rel_tol=1e-3), rows


@pytest.mark.slow
def test_throughput_tiny_has_a_row_per_model_and_path():
    # gan and cyclegan256 run in the gpu.sh dry run below
    out = call_benchmark("throughput.py", "--tiny", "--models", "ae", "vae", "cyclegan128",
              "--paths", "default", "channels_last")
    for model in ("ae", "vae", "cyclegan128"):
        rows = table_rows(out, model)
        assert [r[1] for r in rows[:2]] == ["default", "channels_last"]
        assert rows[2][1].startswith("DataModule") and rows[2][4].endswith("x model")
        assert all(float(r[2]) > 0 for r in rows)


@pytest.mark.slow
def test_gpu_script_dry_run_on_cpu(tmp_path, tiny_classifier):
    out = run("bash", "benchmarks/gpu.sh", "--dry-run",
              env={"OUT_DIR": str(tmp_path / "gpu"), "GENLAB_CLASSIFIER_CKPT": str(tiny_classifier)})
    report = (tmp_path / "gpu" / "gpu.md").read_text()
    assert report == out and "DRY RUN" in report and "stopped" not in report
    assert [r[1] for r in table_rows(report, "cyclegan256")[:3]] == ["default", "bf16-mixed", "16-mixed"]
    (gan,) = table_rows(report, "gan_mnist")  # the GAN run evaluated at its time mark
    ratio, coverage, _ = gan[2].split(", ")[:3]
    assert float(ratio) > 0 and coverage.endswith("/10")
    saved = json.loads((tmp_path / "gpu" / "gan" / "gan_mnist" / "checkpoints" / "t0.01min.metrics.json").read_text())
    assert math.isclose(saved["fid"] / saved["fid_floor"], float(ratio), rel_tol=1e-2)


# --- peers: the reference code's networks, loops and genlab's evaluation of them ---------------------------------

def test_peers_match_their_published_architectures_by_parameter_count():
    # pytorch/examples dcgan (nz 100, ngf = ndf = 64, nc 1; convs without bias):
    #   G: ConvT 100*512*16 = 819,200 + BN 2*512 + ConvT 512*256*16 = 2,097,152 + BN 2*256 + ConvT 256*128*16 =
    #      524,288 + BN 2*128 + ConvT 128*64*16 = 131,072 + BN 2*64 + ConvT 64*1*16 = 1,024 -> 3,574,656
    #   D: Conv 1*64*16 = 1,024 + Conv 64*128*16 = 131,072 + BN 256 + Conv 128*256*16 = 524,288 + BN 512
    #      + Conv 256*512*16 = 2,097,152 + BN 1,024 + Conv 512*1*16 = 8,192 -> 2,763,520
    # Lightning's GAN example: G Linear 100*128+128 = 12,928, 128*256+256 = 33,024 + BN 512, 256*512+512 =
    #   131,584 + BN 1,024, 512*1024+1024 = 525,312 + BN 2,048, 1024*784+784 = 803,600 -> 1,510,032;
    #   D 784*512+512 = 401,920, 512*256+256 = 131,328, 256+1 = 257 -> 533,505
    # pytorch/examples vae: 784*400+400 = 314,000, 2 x (400*20+20) = 16,040, 20*400+400 = 8,400,
    #   400*784+784 = 314,384 -> 652,824
    expected = {"dcgan": {"generator": 3_574_656, "discriminator": 2_763_520},
                "lightning_gan": {"generator": 1_510_032, "discriminator": 533_505},
                "vae": {"vae": 652_824}}
    for name, counts in expected.items():
        nets = peers.PEERS[name]().nets
        assert {k: peers.parameter_count(v) for k, v in nets.items()} == counts, name


def test_peer_outputs_are_mnist_shaped_in_genlab_range():
    import torch

    dcgan, lightning_gan = peers.DCGANPeer(), peers.LightningGANPeer()
    assert dcgan.batch(torch.full((2, 28, 28), 255, dtype=torch.uint8)).shape == (2, 1, 64, 64)
    for peer in (dcgan, lightning_gan):
        x = peer.sample(torch.randn(3, 100))
        assert x.shape == (3, 1, 28, 28) and x.min() >= -1 and x.max() <= 1


def test_cpu_marks_pass_each_mark_once():
    import time

    clock = CpuMarks([2, 1])
    clock.start = time.process_time() - 90  # 1.5 CPU-minutes ago
    assert clock.due() == [1] and clock.due() == [] and not clock.done
    clock.start -= 60
    assert clock.due() == [2] and clock.done


def test_frontier_reads_each_marks_metrics_and_plots(tmp_path):
    # the layouts the scripts write: a recipe's marks under <name>/checkpoints/, a peer's under <name>/
    for folder, minutes, metrics in (("half/checkpoints", 2, {"fid": 30.0, "fid_floor": 1.5}),
                                     ("half/checkpoints", 10, {"fid": 15.0, "fid_floor": 1.5}),
                                     ("dcgan", 2, {"fid": 90.0, "fid_floor": 1.5, "batches": 50}),
                                     ("vae", 3, {"nll_iw": 101.25, "neg_elbo": 107.0}),
                                     ("table", 10, {"fid_ratio": 28.0})):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / f"t{minutes}min.metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "vae" / "t3min.k3_n100.metrics.json").write_text(json.dumps({"nll_iw": 1.0}))  # a rescoring
    # the only score of a mark whose run stopped before evaluating it: a rescoring of its checkpoint
    (tmp_path / "half" / "checkpoints" / "t5min.n10000.metrics.json").write_text(json.dumps({"fid": 18.0,
                                                                                             "fid_floor": 1.5}))
    out = call_benchmark("frontier.py", str(tmp_path), "--out", str(tmp_path / "f.png"))
    assert "  half: 2 min 20.00, 5 min 12.00, 10 min 10.00\n" in out and "  dcgan: 2 min 60.00\n" in out
    assert "  vae: 3 min 101.25\n" in out and "  table: 10 min 28.00\n" in out
    assert (tmp_path / "f.png").stat().st_size > 0


def test_recipe_specs_name_overrides_or_a_table_entry():
    table = {"a": ["x=1"]}
    assert recipe_overrides("a", table) == ("a", ["x=1"])
    assert recipe_overrides("b=y=2,z=[1,2]", table) == ("b", ["y=2", "z=[1", "2]"])  # commas split overrides
    assert recipe_overrides("c=", table) == ("c", [])
    with pytest.raises(SystemExit, match="unknown recipe 'd'"):
        recipe_overrides("d", table)


def test_every_named_recipe_is_a_valid_config():
    from genlab.runner.config import compose

    for experiment, table in (("gan_mnist_dcgan", RECIPES), ("vae_mnist", vae_recipes.RECIPES)):
        for name, overrides in table.items():
            assert compose([f"experiment={experiment}", *overrides]).model.name, name
    shipped = compose(["experiment=gan_mnist"])
    recipe = compose(["experiment=gan_mnist_dcgan", *RECIPES["r1_1"]])
    assert shipped.model == recipe.model and shipped.data == recipe.data  # the table names today's default
    shipped = compose(["experiment=vae_mnist"])
    assert shipped.model == compose(["experiment=vae_mnist", *vae_recipes.RECIPES["warmup"]]).model
    assert compose(["experiment=vae_mnist", *vae_recipes.RECIPES["no_warmup"]]).model.kl_warmup_steps == 0


@pytest.mark.slow
def test_gan_scores_of_a_genlab_gan_equal_its_evaluation(tmp_path, tiny_classifier):
    """The peers' scoring (``peers.gan_scores``) on a genlab GAN gives what ``scripts/evaluate.py`` gives."""
    import genlab
    from genlab.runner.config import compose
    from genlab.runner.run.evaluate import evaluate
    from genlab.runner.run.train import train

    cfg = compose(["experiment=gan_mnist", "model.ngf=4", "model.ndf=4", "max_batches=3", "callbacks.monitor=null",
                   *with_args(FAST, "trainer.limit_val_batches=0", "trainer.limit_test_batches=0"),
                   f"eval.classifier_ckpt={tiny_classifier}", f"run_dir={tmp_path / 'run'}"])
    train(cfg)
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    expected = evaluate(ckpt, ["eval.num_samples=300", "trainer.limit_test_batches=2"])
    model, _ = genlab.load(ckpt)
    got = peers.gan_scores(model.generate, 300, tiny_classifier, real_batches=2)
    for key in ("fid", "fid_floor", "class_kl", "class_coverage", "classifier_is"):  # KID draws random subsets
        assert math.isclose(got[key], expected[f"test/{key}"], rel_tol=1e-4, abs_tol=1e-6), key


@pytest.mark.slow
def test_peers_tiny_train_save_and_score_each_peer(tmp_path, tiny_classifier):
    out = call_benchmark("peers.py", "--peer", "dcgan", "--peer", "lightning_gan", "--peer", "vae",
              "--eval-at", "0.01", "--num-samples", "200", "--iw-samples", "5", "--test-size", "100",
              "--classifier-ckpt", str(tiny_classifier), "--resize-floor", "--out", str(tmp_path))
    for name in ("dcgan", "lightning_gan", "vae"):
        (row,) = table_rows(out, name)
        saved = json.loads((tmp_path / name / "t0.01min.metrics.json").read_text())
        assert saved["batches"] >= 1 and f"({saved['batches']})" in row[3]
        if name == "vae":
            assert saved["nll_iw"] > 0 and math.isfinite(saved["neg_elbo"]) and saved["iw_samples"] == 5
            assert row[3].startswith(f"{saved['nll_iw']:.2f} nats")
        else:
            assert saved["fid_floor"] > 0 and row[3].startswith(f"{saved['fid'] / saved['fid_floor']:.2f}, ")
    assert "resize floor (test digits 28 -> 64 -> 28" in out
    # a rescoring of the saved networks with another evaluation keeps the run's own metrics
    first = (tmp_path / "vae" / "t0.01min.metrics.json").read_text()
    call_benchmark("peers.py", "--peer", "vae", "--score-only", "--eval-at", "0.01", "--iw-samples",
        "3", "--test-size", "100", "--classifier-ckpt", str(tiny_classifier), "--out", str(tmp_path))
    assert (tmp_path / "vae" / "t0.01min.metrics.json").read_text() == first
    assert json.loads((tmp_path / "vae" / "t0.01min.k3_n100.metrics.json").read_text())["iw_samples"] == 3


def mark_metrics(folder, minutes: str, tag: str = "") -> dict:
    return json.loads((folder / "checkpoints" / f"t{minutes}min{tag}.metrics.json").read_text())


@pytest.mark.slow
def test_gan_recipes_tiny_marks_and_their_rescoring(tmp_path, tiny_classifier):
    args = ["gan_recipes.py", "--tiny", "--recipe", "ema=model.ema_decay=0.999", "--eval-at", "0.01",
            "0.02", "--num-samples", "200", "--classifier-ckpt", str(tiny_classifier), "--out", str(tmp_path)]
    (row,) = table_rows(call_benchmark(*args), "ema")
    first, last = (mark_metrics(tmp_path / "ema", m) for m in ("0.01", "0.02"))
    assert 1 <= first["batches"] < last["batches"] and row[3].startswith(f"{last['fid'] / last['fid_floor']:.2f}, ")
    # --score-only evaluates the saved checkpoints again: the same numbers, the batches read back from them; the
    # newest mark first (so that it is scored before a deadline), the table in time order all the same
    (row,) = table_rows(call_benchmark(*args[:5], "0.02", "0.01", *args[7:], "--score-only"), "ema")
    again = mark_metrics(tmp_path / "ema", "0.02", ".n200")
    assert row[2].endswith(f"({first['batches']})") and row[3].endswith(f"({last['batches']})")
    assert again["batches"] == last["batches"] and mark_metrics(tmp_path / "ema", "0.02") == last
    assert math.isclose(again["fid"], last["fid"], rel_tol=1e-4)


@pytest.mark.slow
def test_vae_recipes_marks_record_their_evaluation_size(tmp_path, data_dir):
    args = ["vae_recipes.py", "--recipe", "small=model.hidden=[16],model.latent_dim=2", "--eval-at",
            "0.01", "--iw-samples", "3", "--test-size", "100", "--out", str(tmp_path)]
    (row,) = table_rows(call_benchmark(*args), "small")
    own = mark_metrics(tmp_path / "small", "0.01")
    assert (own["iw_samples"], own["test_images"]) == (3, 100) and own["batches"] >= 1
    assert row[2].startswith(f"{own['nll_iw']:.2f} ({own['neg_elbo']:.2f}) ({own['batches']})")
    call_benchmark(*args, "--score-only")
    again = mark_metrics(tmp_path / "small", "0.01", ".k3_n100")
    assert again["batches"] == own["batches"] and mark_metrics(tmp_path / "small", "0.01") == own
