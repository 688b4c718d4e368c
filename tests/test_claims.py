"""The claims experiments (benchmarks/claims_*.py, docs/claims.md): their pure helpers against hand-computed
values, and every script end to end in its tiny mode (real training through genlab, real MNIST and monet2photo,
a real offline W&B run read back). Tiny runs check that each writes its table, figure and numbers with the
expected rows and keys; the claims themselves are shown by the full runs recorded in docs/claims.md."""

from __future__ import annotations

import json
import math
import sys

import pytest
import torch
from PIL import Image
from pytorch_lightning.loggers import CSVLogger

from tests.helpers import REPO, call_benchmark

sys.path.insert(0, str(REPO / "benchmarks"))  # the benchmark scripts import their siblings by name

import claims_common as cc  # noqa: E402

# --- pure helpers -------------------------------------------------------------------------------------------------


def test_identification_rate_counts_outputs_nearest_to_their_own_source():
    sources = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    assert cc.identification_rate(sources + 0.1, sources) == 1.0
    assert cc.identification_rate(sources.roll(1, 0), sources) == 0.0
    # output 0 and 1 stay near their sources, output 2 lands next to source 1
    outputs = torch.tensor([[1.0, 0.0], [9.0, 1.0], [9.0, 0.0]])
    assert cc.identification_rate(outputs, sources) == pytest.approx(2 / 3)


def test_identification_rate_flattens_images():
    sources = torch.zeros(2, 3, 4, 4)
    sources[1] = 1.0
    assert cc.identification_rate(sources.flip(0), sources) == 0.0


def test_code_bytes():
    assert cc.code_bytes(16, torch.float32) == 64
    assert cc.code_bytes(16, torch.float16) == 32
    assert cc.code_bytes(784, torch.uint8) == 784


def test_linear_probe_separates_separable_toy_data_and_not_shuffled_labels():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    labels = torch.arange(3).repeat(40)
    x = centres[labels] + 0.5 * torch.randn(len(labels), 3, generator=gen)
    test_labels = torch.arange(3).repeat(20)
    test_x = centres[test_labels] + 0.5 * torch.randn(len(test_labels), 3, generator=gen)
    assert cc.linear_probe(x, labels, test_x, test_labels, 3) == 1.0
    # labels unrelated to the features: no better than guessing by much
    noise_labels = torch.randint(3, (len(labels),), generator=gen)
    assert cc.linear_probe(torch.randn(len(labels), 3, generator=gen), noise_labels, test_x, test_labels, 3) < 0.7


def test_fit_gaussian_on_the_corners_of_a_square():
    mean, cov = cc.fit_gaussian(torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]))
    assert torch.allclose(mean, torch.tensor([1.0, 1.0]))
    assert torch.allclose(cov, torch.tensor([[4 / 3, 0.0], [0.0, 4 / 3]]))


def test_gaussian_samples_have_the_fitted_moments():
    mean, cov = torch.tensor([1.0, -2.0]), torch.tensor([[2.0, 0.6], [0.6, 0.5]])
    samples = cc.sample_gaussian(mean, cov, 200_000, torch.Generator().manual_seed(0))
    got_mean, got_cov = cc.fit_gaussian(samples)
    assert torch.allclose(got_mean, mean, atol=0.02) and torch.allclose(got_cov, cov, atol=0.03)


def test_box_samples_stay_in_the_codes_bounding_box_and_fill_it():
    codes = torch.tensor([[0.0, -1.0], [2.0, 3.0], [1.0, 0.0]])
    samples = cc.sample_box(codes, 10_000, torch.Generator().manual_seed(0))
    assert samples.shape == (10_000, 2)
    assert (samples[:, 0] >= 0).all() and (samples[:, 0] <= 2).all()
    assert (samples[:, 1] >= -1).all() and (samples[:, 1] <= 3).all()
    assert torch.allclose(samples.mean(0), torch.tensor([1.0, 1.0]), atol=0.05)


def test_pca_finds_the_direction_of_points_on_a_line():
    t = torch.linspace(-1, 1, 11).unsqueeze(1)
    mean, basis = cc.pca(torch.cat([t, 2 * t], 1) + torch.tensor([3.0, 1.0]), 1)
    assert torch.allclose(mean, torch.tensor([3.0, 1.0]), atol=1e-6)
    assert torch.allclose(basis.abs(), torch.tensor([[1.0, 2.0]]) / math.sqrt(5), atol=1e-6)


def test_nearest_distances():
    d = cc.nearest_distances(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([[0.0, 1.0], [3.0, 0.0]]))
    assert torch.allclose(d, torch.tensor([1.0, 4.0]))


def test_mean_std_confidence_and_window_means():
    assert cc.mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert cc.mean_std([0.5]) == (0.5, 0.0)
    assert cc.mean_confidence(torch.tensor([[0.9, 0.1], [0.4, 0.6]])) == pytest.approx(0.75)
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    assert cc.window_mean(values, 0.2, last=False) == 1.5
    assert cc.window_mean(values, 0.2, last=True) == 9.5
    assert cc.window_mean([4.0, 6.0], 0.1, last=True) == 6.0  # never an empty window


def test_standardize_uses_the_first_sets_statistics_and_keeps_constant_features():
    train, test = cc.standardize(torch.tensor([[1.0, 5.0], [3.0, 5.0]]), torch.tensor([[5.0, 6.0]]))
    std = math.sqrt(2)
    assert torch.allclose(train, torch.tensor([[-1 / std, 0.0], [1 / std, 0.0]]))
    assert torch.allclose(test, torch.tensor([[3 / std, 1.0]]))


def test_stratified_subset_draws_equal_counts_per_class():
    labels = torch.arange(10).repeat(50)
    idx = cc.stratified_subset(labels, 100, torch.Generator().manual_seed(0))
    assert len(idx.unique()) == 100
    assert torch.bincount(labels[idx], minlength=10).tolist() == [10] * 10
    counts = torch.bincount(labels[cc.stratified_subset(labels, 15, torch.Generator().manual_seed(1))], minlength=10)
    assert counts.sum() == 15 and counts.max() - counts.min() <= 1


def test_markdown_table():
    assert cc.markdown_table(["a", "b"], [["x", 1], ["y", 2]]) == "| a | b |\n|---|---:|\n| x | 1 |\n| y | 2 |"


def test_read_scalars_reads_a_lightning_csv_copy(tmp_path):
    logger = CSVLogger(save_dir=str(tmp_path), name="csv")
    logger.log_metrics({"train/D_x": 0.75, "train/D_G_z": 0.25}, step=0)
    logger.log_metrics({"train/D_x": 0.5}, step=5)
    logger.save()
    got = cc.read_scalars(tmp_path, ["train/D_x", "train/D_G_z", "train/g_grad_norm"])
    assert got == {"train/D_x": ([0.0, 5.0], [0.75, 0.5]), "train/D_G_z": ([0.0], [0.25]),
                   "train/g_grad_norm": ([], [])}


# --- the scripts, tiny, end to end ------------------------------------------------------------------------------


def run_claim(script: str, out, *args: str) -> tuple[str, dict]:
    """Run ``benchmarks/claims_<script>.py --tiny`` as its ``__main__``; its table text and results.json."""
    printed = call_benchmark(f"claims_{script}.py", "--tiny", "--out", str(out), *args)
    table = (out / "table.md").read_text()
    assert table.strip() in printed  # printed as well as written
    with Image.open(out / "figure.png") as figure:
        assert figure.format == "PNG" and figure.width > 500 and figure.height > 200
    return table, json.loads((out / "results.json").read_text())


def table_rows(table: str) -> list[list[str]]:
    """The body rows of the Markdown table in ``table`` (cells stripped)."""
    lines = [line for line in table.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


@pytest.fixture(scope="module")
def claim1(tmp_path_factory, tiny_classifier):
    out = tmp_path_factory.mktemp("claim1")
    return out, *run_claim("ae_not_generative", out, f"--classifier-ckpt={tiny_classifier}")


@pytest.mark.slow
def test_claim1_scores_each_way_of_drawing_codes(claim1):
    out, table, results = claim1
    names = ["AE, codes of test digits (reconstructions; control)", "AE, Gaussian fitted to training codes",
             "AE, uniform in the codes' bounding box", "VAE, prior N(0, I)"]
    assert [row[0] for row in table_rows(table)] == names
    assert list(results["rows"]) == names and results["latent_dim"] == 16 and results["samples"] == 200
    for m in results["rows"].values():
        assert {"fid", "fid_floor", "confidence", "class_coverage", "class_kl", "classifier_is",
                "code_distance_ratio"} <= set(m)
        assert 0 <= m["confidence"] <= 1 and 0 <= m["class_coverage"] <= 10
    # the control's codes are the test codes themselves: their distance ratio is 1 by definition
    assert results["rows"][names[0]]["code_distance_ratio"] == pytest.approx(1.0)
    for name in ("ae", "vae"):  # trained through genlab into the output folder
        assert (out / "runs" / name / "config.yaml").is_file()


@pytest.mark.slow
def test_claim2_probes_four_features_with_each_label_budget(claim1, tmp_path):
    out, _, first = claim1
    table, results = run_claim("pretrain", tmp_path, f"--ae-ckpt={first['ae_ckpt']}",
                               f"--vae-ckpt={first['vae_ckpt']}")
    rows = table_rows(table)
    assert [row[0] for row in rows] == ["AE codes (16)", "VAE means (16)", "PCA (16)", "raw pixels (784)"]
    assert all("±" in row[1] and "±" in row[2] for row in rows)
    assert not (tmp_path / "runs").exists()  # the given checkpoints were reused, nothing trained
    for name, entry in results["features"].items():
        assert set(entry["accuracy"]) == {"100", "1000"}
        assert all(len(a["runs"]) == 2 and 0 <= a["mean"] <= 1 for a in entry["accuracy"].values())
        if name == "raw pixels (784)":
            assert entry["storage"] == {"uint8": {"bytes": 784, "mse": 0.0}}
        else:
            assert entry["dims"] == 16
            assert {k: v["bytes"] for k, v in entry["storage"].items()} == {"float32": 64, "float16": 32}


@pytest.mark.slow
def test_claim3_compares_denoising_plain_and_identity_at_each_noise_level(claim1, tmp_path):
    _, _, first = claim1
    table, results = run_claim("denoising", tmp_path, f"--ae-ckpt={first['ae_ckpt']}")
    assert [row[0] for row in table_rows(table)] == ["0", "0.1", "0.25", "0.5", "0.75", "1"]
    assert (tmp_path / "runs" / "dae" / "config.yaml").is_file()  # only the denoising AE was trained
    assert not (tmp_path / "runs" / "ae").exists()
    assert results["trained_sigma"] == 0.5
    for sigma, mse in results["mse"].items():
        assert set(mse) == {"identity", "plain AE", "denoising AE"}
        assert (mse["identity"] == 0) == (sigma == "0.0")  # clean input is its own identity baseline


@pytest.mark.slow
def test_claim4_trains_cyclegan_with_and_without_the_cycle_loss(tmp_path):
    table, results = run_claim("cycle", tmp_path)
    assert [row[0] for row in table_rows(table)] == ["with cycle loss", "without cycle loss",
                                                     "chance (a random guess)", "identity map (no translation)"]
    assert {k: m["lambda"] for k, m in results["models"].items()} == {"with cycle loss": 10.0,
                                                                     "without cycle loss": 0.0}
    for m in results["models"].values():
        assert {"id_AtoB", "id_BtoA", "cycle_l1_A", "cycle_l1_B", "l1_to_source_AtoB", "l1_to_source_BtoA"} <= set(m)
        assert 0 <= m["id_AtoB"] <= 1 and m["cycle_l1_A"] > 0
    assert results["test_photos"] == results["test_paintings"] == 8 and results["image_size"] == 32


@pytest.mark.slow
def test_claim5_reads_the_logged_game_back_from_both_runs(tmp_path, tiny_classifier):
    table, results = run_claim("gan_game", tmp_path, f"--classifier-ckpt={tiny_classifier}")
    assert [row[0] for row in table_rows(table)] == ["non_saturating", "minimax"]
    for loss in ("non_saturating", "minimax"):
        assert (tmp_path / "runs" / loss / "config.yaml").is_file()
        curves = results["curves"][loss]
        assert set(curves) == {"train/D_x", "train/D_G_z", "train/g_grad_norm"}
        assert all(len(c["values"]) >= 2 and len(c["steps"]) == len(c["values"]) for c in curves.values())
        assert all(0 <= v <= 1 for v in curves["train/D_x"]["values"] + curves["train/D_G_z"]["values"])
    # the two runs differ only in the generator's loss, so its gradients differ
    assert results["curves"]["minimax"]["train/g_grad_norm"] != results["curves"]["non_saturating"]["train/g_grad_norm"]
