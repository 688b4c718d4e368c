"""The pure parts of compare, multirun and sweep checking, against hand-computed values."""

from __future__ import annotations

import pytest

from genlab.core.errors import ConfigError
from genlab.runner.sweep.multirun import folder_name, grid, parse_sweep, split_flags, split_values
from genlab.runner.sweep.sweeps import parameter_values
from genlab.runner.tools.compare import (
    Run,
    aggregate,
    build_table,
    differing_keys,
    flatten,
    mean_band,
    render,
    sort_table,
)


def make_run(name: str, seed: int, dim: int, losses: list[float], test: float) -> Run:
    config = flatten({"seed": seed, "model": {"latent_dim": dim, "lr": 0.001}, "run_dir": f"/runs/{name}",
                      "callbacks": {"monitor": "val/loss", "monitor_mode": "min"}})
    history = [{"step": 10.0 * (i + 1), "val/loss": v} for i, v in enumerate(losses)]
    return Run(name, f"/runs/{name}", config, history, {"val/loss": losses[-1], "test/loss": test})


RUNS = [make_run("a", 1, 2, [3.0, 1.0, 2.0], 1.5), make_run("b", 2, 2, [4.0, 3.0, 4.0], 2.5),
        make_run("c", 1, 8, [2.0, 0.5, 0.5], 0.25)]


def test_flatten_nests_with_dots_and_keeps_lists():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": None}) == {"a.b": 1, "a.c.d": [1, 2], "e": None}


def test_differing_keys_skip_run_folders_and_ignore_equal_values():
    assert differing_keys(RUNS) == ["model.latent_dim", "seed"]
    assert differing_keys(RUNS[:2]) == ["seed"]


def test_aggregate_is_mean_and_sample_std():
    cell = aggregate([1.0, 3.0, None])
    assert (cell.mean, cell.n) == (2.0, 2) and cell.std == pytest.approx(2 ** 0.5)
    assert str(cell) == "2 ± 1.4" and str(aggregate([0.25])) == "0.25" and str(aggregate([None])) == "-"


def test_table_groups_seeds_with_last_and_best_values():
    table = build_table(RUNS)
    assert table.header == ["model.latent_dim", "n", "val/loss", "val/loss (min)", "test/loss"]
    dim2, dim8 = table.rows
    assert dim2[:2] == ["2", 2] and dim8[:2] == ["8", 1]
    # last val/loss 2 and 4 -> 3 ± 1.414; best 1 and 3 -> 2 ± 1.414; test 1.5 and 2.5 -> 2 ± 0.7071
    assert [str(c) for c in dim2[2:]] == ["3 ± 1.4", "2 ± 1.4", "2 ± 0.71"]
    assert [str(c) for c in dim8[2:]] == ["0.5", "0.5", "0.25"]


def test_without_seed_groups_every_run_is_a_row():
    table = build_table(RUNS, by_seed=False)
    assert table.header[:3] == ["run", "model.latent_dim", "seed"]
    assert [row[0] for row in table.rows] == ["a", "b", "c"]


def test_sort_by_a_metric_either_way_and_reject_unknown_columns():
    table = build_table(RUNS, by_seed=False)
    assert [r[0] for r in sort_table(table, "test/loss").rows] == ["c", "a", "b"]
    assert [r[0] for r in sort_table(table, "-val/loss (min)").rows] == ["b", "a", "c"]
    with pytest.raises(ConfigError, match="no such column"):
        sort_table(table, "val/nope")


def test_markdown_and_csv():
    table = build_table(RUNS[2:], by_seed=False)
    assert render(table, "markdown").splitlines() == ["| run | val/loss | val/loss (min) | test/loss |",
                                                      "|---|---|---|---|", "| c | 0.5 | 0.5 | 0.25 |"]
    assert render(table, "csv").splitlines() == ["run,val/loss,val/loss (min),test/loss", "c,0.5,0.5,0.25"]


def test_mean_band_uses_the_steps_every_curve_has():
    steps, means, stds = mean_band([{1: 1.0, 2: 2.0, 3: 5.0}, {1: 3.0, 2: 4.0}])
    assert steps == [1, 2] and means == [2.0, 3.0] and stds == pytest.approx([2 ** 0.5, 2 ** 0.5])


def test_multirun_values_split_on_commas_outside_brackets():
    assert split_values("1,2,3") == ["1", "2", "3"]
    assert split_values("[a,b],[c]") == ["[a,b]", "[c]"]
    assert split_values("[a,b]") == ["[a,b]"]
    fixed, swept = parse_sweep(["experiment=ae_mnist", "seed=1,2", "callbacks.images=[a,b]", "model.latent_dim=2,16"])
    assert fixed == ["experiment=ae_mnist", "callbacks.images=[a,b]"]
    assert grid(swept) == [{"seed": "1", "model.latent_dim": "2"}, {"seed": "1", "model.latent_dim": "16"},
                           {"seed": "2", "model.latent_dim": "2"}, {"seed": "2", "model.latent_dim": "16"}]
    assert folder_name(3, {"seed": "2", "data.root": "/a b"}) == "3-seed=2,data.root=_a_b"


@pytest.mark.parametrize("bad", ["seed=1,,2", "seed=1,", "seed", "seed=1,1"])
def test_malformed_multirun_values_are_config_errors(bad):
    with pytest.raises(ConfigError):
        parse_sweep([bad])


def test_sweep_parameter_values_are_lists_or_range_ends():
    assert parameter_values("a", {"values": [1, 2]}) == [1, 2]
    assert parameter_values("a", {"value": 3}) == [3]
    assert parameter_values("a", {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2}) == [1e-4, 1e-2]
    with pytest.raises(ConfigError, match="give values"):
        parameter_values("a", {"distribution": "normal"})


def test_train_flags_and_the_agent_form_of_arguments():
    flags, rest = split_flags(["--multirun", "--jobs", "2", "--launcher=local", "--seed=3", "model.latent_dim=2,4"])
    assert flags == {"--multirun": True, "--jobs": "2", "--launcher": "local"}
    assert rest == ["seed=3", "model.latent_dim=2,4"]
    with pytest.raises(ConfigError, match="unknown option"):
        split_flags(["--seed"])
