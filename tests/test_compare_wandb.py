"""``compare.py --wandb`` at project scale, on wandb's own public ``Run`` objects built from the data a server
returns (the Api allows it: ``Run(client, entity, project, id, attrs=...)``; with a config and summary in the
attrs, nothing is loaded lazily). Without a client a history scan would wait on retries, so the runs here fail
at once if one is asked: a table of 200 of them asks for none."""

from __future__ import annotations

import json

import pytest
from wandb.apis.public import Run as ApiRun

from genlab.runner.tools import compare


class NoHistory(ApiRun):
    def scan_history(self, *args, **kwargs):
        raise AssertionError("compare asked W&B for a history")


def api_run(i: int, latent: int, seed: int, best: float, last: float, test_mse: float) -> NoHistory:
    config = {"experiment": {"value": "ae_mnist"}, "seed": {"value": seed}, "model": {"value": {"latent_dim": latent}},
              "callbacks": {"value": {"monitor": "val/loss", "monitor_mode": "min"}}}
    summary = {"val/loss": {"min": best, "last": last}, "test/mse": test_mse, "_step": 99,
               "trainer/global_step": 300}
    return NoHistory(None, "me", "genlab", f"run{i}", attrs={
        "displayName": f"ae_mnist/{i}", "state": "finished", "config": json.dumps(config),
        "summaryMetrics": json.dumps(summary)})


@pytest.fixture
def many_runs() -> list[ApiRun]:
    # 100 latent sizes x 2 seeds; latent k: best val/loss k and k + 2 (mean k + 1), last 2k + 10, test/mse k / 10
    return [api_run(2 * k + s, k, s, k + 2 * s, 2 * k + 10, k / 10) for k in range(100) for s in range(2)]


def test_the_table_comes_from_summaries_without_any_history(many_runs):
    runs = compare.runs_from_wandb_api(many_runs)  # a scan_history call would fail: no client
    table = compare.build_table(runs)
    assert table.header == ["model.latent_dim", "n", "val/loss", "val/loss (min)", "test/mse"]
    assert len(table.rows) == 100
    row = table.rows[7]
    assert row[:2] == ["7", 2]
    assert (row[2].mean, row[3].mean, row[3].std, row[4].mean) == (24.0, 8.0, 2 ** 0.5, pytest.approx(0.7))


def test_plot_reads_only_the_plotted_metric():
    from tests.wandb_offline import ApiShapedRun

    class FromRows(ApiShapedRun):  # ApiShapedRun's scan_history over given rows instead of an offline run's
        def __init__(self, history):
            self.name, self.path, self.config, self.summary, self._history = "r", ["me", "p", "r"], {}, {}, history

    run = FromRows([{"trainer/global_step": 0, "val/loss": 2.0, "train/loss": 3.0, "_step": 0},
                    {"trainer/global_step": 1, "val/loss": 1.0, "_step": 1}])
    converted, = compare.runs_from_wandb_api([run], ["val/loss"])
    assert converted.history == [{"step": 0, "val/loss": 2.0}, {"step": 1, "val/loss": 1.0}]  # no train/loss


def test_filters_go_to_the_server_typed_as_the_config_holds_them():
    assert compare.wandb_filters([]) is None
    assert compare.wandb_filters([("model.latent_dim", "16"), ("experiment", "ae_mnist"), ("model.beta", "0.5")]) \
        == {"$and": [{"config.model.latent_dim": 16}, {"config.experiment": "ae_mnist"}, {"config.model.beta": 0.5}]}
