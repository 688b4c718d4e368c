"""Compare runs: one row per run (or per seed group), the config keys that differ, final and best metrics, and
curves of one metric across runs. Two sources give the same ``Run`` records: run folders on disk (``config.yaml``
plus the local CSV copy of every logged scalar) and a W&B project read through ``wandb.Api()``."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genlab.core.errors import ConfigError
from genlab.runner.run.rundir import CSV_DIR

# Config keys that differ between any two runs without describing the experiment
IGNORED_PREFIXES = ("run_dir", "git.", "ckpt", "choices.", "logger.", "_wandb", "trainer.enable_progress_bar")
STEP = "step"


@dataclass
class Run:
    name: str
    location: str  # folder or W&B run path
    config: dict[str, Any]  # flattened: "model.latent_dim" -> 16
    history: list[dict[str, float]] = field(default_factory=list)  # rows with STEP and metric values
    summary: dict[str, float] = field(default_factory=dict)  # final value of each metric
    bests: dict[str, dict[str, float]] = field(default_factory=dict)  # "val/loss" -> {"min": 0.1}: W&B summaries

    def metric_values(self, key: str) -> list[float]:
        return [row[key] for row in self.history if _is_number(row.get(key))]

    def best(self, key: str, mode: str) -> float | None:
        values = self.metric_values(key)
        if values:
            return (min if mode == "min" else max)(values)
        return self.bests.get(key, {}).get(mode)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def flatten(config: dict, prefix: str = "") -> dict[str, Any]:
    """``{"model": {"latent_dim": 2}}`` -> ``{"model.latent_dim": 2}``; lists stay values."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# --- sources ------------------------------------------------------------------------------------------------

def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_csv_history(run_dir: Path) -> list[dict[str, float]]:
    """Every row the run's CSVLoggers wrote, in version order (training, resumes, evaluations)."""
    rows = []
    versions = sorted((run_dir / CSV_DIR).glob("version_*/metrics.csv"), key=lambda p: int(p.parent.name[8:]))
    for path in versions:
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                values = {k: _number(v) for k, v in row.items() if v not in ("", None)}
                rows.append({k: v for k, v in values.items() if v is not None})
    return rows


def _last_values(history: list[dict[str, float]]) -> dict[str, float]:
    summary = {}
    for row in history:
        summary.update({k: v for k, v in row.items() if k not in (STEP, "epoch")})
    return summary


def runs_from_folders(roots: Iterable[str | Path]) -> list[Run]:
    """Every run folder (one holding ``config.yaml``) under ``roots``; no account, no network."""
    runs = []
    for root in map(Path, roots):
        for config_file in sorted(root.rglob("config.yaml")) if root.is_dir() else []:
            run_dir = config_file.parent
            history = read_csv_history(run_dir)
            name = str(run_dir.relative_to(root)) if run_dir != root else run_dir.name
            runs.append(Run(name, str(run_dir), flatten(yaml.safe_load(config_file.read_text()) or {}), history,
                            _last_values(history)))
    return runs


W_AND_B_STEP = "trainer/global_step"  # the x-axis WandbLogger logs beside every metric


def summaries(raw: dict) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(last values, best values) of a W&B run summary: a metric with a best-value summary (``define_metric``) is
    ``{"min": best, "last": last}``; a ``<metric>_best`` number (what sweeps optimise) is its best too."""
    last, bests = {}, {}
    for key, value in raw.items():
        if hasattr(value, "keys"):  # wandb.Api's summaries hold SummarySubDicts, mappings but not dicts
            value = dict(value)
            bests[key] = {m: value[m] for m in ("min", "max") if _is_number(value.get(m))}
            value = value.get("last")
        if _is_number(value) and not key.startswith("_") and key not in (W_AND_B_STEP, "epoch"):
            last[key] = value
    return last, bests


def runs_from_wandb_api(api_runs: Iterable, history_keys: list[str] = ()) -> list[Run]:
    """``Run`` records from ``wandb.Api().runs()``'s runs (``.name``, ``.path``, ``.config``, ``.summary``): the
    table needs only configs and summaries; the history is read (``scan_history``, one request per page) only
    for ``history_keys`` (what ``--plot`` draws), and only those keys."""
    runs = []
    for api_run in api_runs:
        history = []
        if history_keys:
            for row in api_run.scan_history(keys=[*history_keys, W_AND_B_STEP]):
                values = {k: v for k, v in row.items() if _is_number(v) and not k.startswith("_")}
                if W_AND_B_STEP in values:
                    values[STEP] = values.pop(W_AND_B_STEP)
                history.append(values)
        last, bests = summaries(dict(api_run.summary))
        path = "/".join(api_run.path) if isinstance(api_run.path, list | tuple) else str(api_run.path)
        runs.append(Run(api_run.name, path, flatten(dict(api_run.config)), history, last, bests))
    return runs


def wandb_filters(filters: list[tuple[str, str]]) -> dict | None:
    """``--filter`` as a W&B server query (``config.model.latent_dim`` reaches a nested key, wandb/wandb#9406);
    values typed as YAML reads them, as the config holds them."""
    if not filters:
        return None
    return {"$and": [{f"config.{key}": yaml.safe_load(value)} for key, value in filters]}


def fetch_wandb_runs(project: str, filters: list[tuple[str, str]] = ()) -> list:
    """The runs of ``ENTITY/PROJECT`` that match ``filters``, chosen by the W&B server (the user's own login),
    with their configs and summaries in the same paged requests (``lazy=False``: no request per run)."""
    import wandb

    if project.count("/") != 1 or not all(project.split("/")):
        raise ConfigError(f"--wandb {project!r}: expected ENTITY/PROJECT")
    try:
        return list(wandb.Api(timeout=30).runs(project, filters=wandb_filters(list(filters)), lazy=False))
    except (wandb.errors.Error, ValueError) as e:
        raise ConfigError(f"cannot read W&B project {project}: {str(e).splitlines()[0][:200]}") from None


# --- selecting and tabulating -------------------------------------------------------------------------------

def parse_filter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--filter {text!r}: expected key=value, e.g. --filter model.latent_dim=16")
    return key, value


def _matches(value: Any, wanted: str) -> bool:
    if _is_number(value) and _number(wanted) is not None:
        return float(value) == _number(wanted)
    return str(value).lower() == wanted.lower() if isinstance(value, bool) or value is None else str(value) == wanted


def select(runs: list[Run], filters: list[tuple[str, str]], where: str) -> list[Run]:
    if not runs:
        raise ConfigError(f"no runs found in {where} (a run folder holds config.yaml)")
    keys = set().union(*(r.config for r in runs))
    for key, _ in filters:
        if key not in keys:
            raise ConfigError(f"--filter: unknown config key {key!r}; e.g. {', '.join(sorted(keys)[:8])}")
    chosen = [r for r in runs if all(_matches(r.config.get(k), v) for k, v in filters)]
    if not chosen:
        raise ConfigError(f"no runs in {where} match {' '.join(f'{k}={v}' for k, v in filters)}")
    return chosen


def differing_keys(runs: list[Run]) -> list[str]:
    """Config keys whose values are not the same in every run (a key missing from a run counts as a value)."""
    keys = sorted(set().union(*(r.config for r in runs)))
    return [k for k in keys if not k.startswith(IGNORED_PREFIXES)
            and len({repr(r.config.get(k)) for r in runs}) > 1]


def monitored(runs: list[Run]) -> tuple[str | None, str]:
    """The metric checkpoints were chosen by (the most common ``callbacks.monitor``) and its direction."""
    monitors = [(r.config.get("callbacks.monitor"), r.config.get("callbacks.monitor_mode", "min")) for r in runs]
    monitors = [m for m in monitors if m[0]]
    return max(monitors, key=monitors.count) if monitors else (None, "min")


@dataclass
class Column:
    label: str
    metric: str
    best: str | None = None  # "min"/"max": the best value over the run, else the final one

    def value(self, run: Run) -> float | None:
        return run.best(self.metric, self.best) if self.best else run.summary.get(self.metric)


def metric_columns(runs: list[Run], extra: list[str] = ()) -> list[Column]:
    """The monitored metric's final and best values, every final ``test/`` metric, and ``extra`` metrics."""
    monitor, mode = monitored(runs)
    columns = [Column(monitor, monitor), Column(f"{monitor} ({mode})", monitor, mode)] if monitor else []
    finals = sorted({k for r in runs for k in r.summary if k.startswith("test/")} | set(extra))
    return columns + [Column(k, k) for k in finals if k != monitor]


@dataclass
class Cell:
    """A metric over one run (n=1) or a group of seeds: mean, sample standard deviation, n."""

    mean: float | None
    std: float = 0.0
    n: int = 1

    def __str__(self) -> str:
        if self.mean is None:
            return "-"
        return f"{self.mean:.4g} ± {self.std:.2g}" if self.n > 1 else f"{self.mean:.4g}"


def aggregate(values: list[float | None]) -> Cell:
    present = [v for v in values if v is not None]
    if not present:
        return Cell(None, n=0)
    return Cell(statistics.fmean(present), statistics.stdev(present) if len(present) > 1 else 0.0, len(present))


@dataclass
class Table:
    header: list[str]
    rows: list[list[Any]]  # config values, then Cells
    groups: list[list[Run]]  # the runs behind each row


def _label(value: Any) -> str:
    return "-" if value is None else str(value)


def build_table(runs: list[Run], by_seed: bool = True, extra_metrics: list[str] = ()) -> Table:
    """One row per run, or with ``by_seed`` one row per set of runs differing only in ``seed`` (mean ± std)."""
    keys = differing_keys(runs)
    columns = metric_columns(runs, extra_metrics)
    if by_seed and "seed" in keys:
        keys.remove("seed")
        groups: dict[tuple, list[Run]] = {}
        for run in runs:
            groups.setdefault(tuple(repr(run.config.get(k)) for k in keys), []).append(run)
        header = [*keys, "n", *(c.label for c in columns)]
        rows = [[*(_label(g[0].config.get(k)) for k in keys), len(g), *(aggregate([c.value(r) for r in g])
                                                                        for c in columns)] for g in groups.values()]
        return Table(header, rows, list(groups.values()))
    header = ["run", *keys, *(c.label for c in columns)]
    rows = [[run.name, *(_label(run.config.get(k)) for k in keys), *(aggregate([c.value(run)]) for c in columns)]
            for run in runs]
    return Table(header, rows, [[r] for r in runs])


def _sort_value(cell: Any) -> float | str | None:
    if isinstance(cell, Cell):
        return cell.mean
    if cell == "-":
        return None
    number = _number(str(cell))
    return number if number is not None else str(cell)


def sort_table(table: Table, key: str) -> Table:
    """Sort by a column (``-column`` for descending); metric cells by their mean, missing values last."""
    descending, name = key.startswith("-"), key.lstrip("-")
    if name not in table.header:
        raise ConfigError(f"--sort {key!r}: no such column; columns: {', '.join(table.header)}")
    i = table.header.index(name)
    pairs = list(zip(table.rows, table.groups, strict=True))
    present = sorted((p for p in pairs if _sort_value(p[0][i]) is not None), key=lambda p: _sort_value(p[0][i]),
                     reverse=descending)
    pairs = present + [p for p in pairs if _sort_value(p[0][i]) is None]
    return Table(table.header, [p[0] for p in pairs], [p[1] for p in pairs])


def render(table: Table, fmt: str) -> str:
    cells = [[str(c) for c in row] for row in table.rows]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.header)
        writer.writerows(cells)
        return out.getvalue().rstrip("\n")
    if fmt == "markdown":
        lines = ["| " + " | ".join(table.header) + " |", "|" + "|".join("---" for _ in table.header) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])
    widths = [max(len(x) for x in col) for col in zip(table.header, *cells, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(table.header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines + ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells])


FORMATS = ("table", "markdown", "csv")


# --- curves -------------------------------------------------------------------------------------------------

def curve(run: Run, metric: str) -> dict[float, float]:
    """step -> value; a step logged twice (a resumed run) keeps its last value."""
    return {row[STEP]: row[metric] for row in run.history if _is_number(row.get(metric)) and STEP in row}


def mean_band(curves: list[dict[float, float]]) -> tuple[list[float], list[float], list[float]]:
    """Steps every curve has, with the mean and the sample standard deviation across curves at each."""
    steps = sorted(set.intersection(*(set(c) for c in curves)))
    means = [statistics.fmean(c[s] for c in curves) for s in steps]
    stds = [statistics.stdev(c[s] for c in curves) if len(curves) > 1 else 0.0 for s in steps]
    return steps, means, stds


def plot(table: Table, metric: str, out: Path) -> Path:
    """A PNG of ``metric`` against the training step: one line per run, or per seed group its mean and a
    ± one standard deviation band."""
    available = sorted({k for g in table.groups for r in g for row in r.history for k in row} - {STEP, "epoch"})
    if metric not in available:
        raise ConfigError(f"--plot {metric!r}: no run logged it; metrics: {', '.join(available)}")
    from matplotlib.figure import Figure  # no pyplot: no display backend; imported for --plot only (a second)

    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    n_keys = table.header.index("n") if "n" in table.header else None
    for row, group in zip(table.rows, table.groups, strict=True):
        curves = [c for c in (curve(r, metric) for r in group) if c]
        if not curves:
            continue
        label = _row_label(table.header, row, n_keys)
        steps, means, stds = mean_band(curves)
        line, = axes.plot(steps, means, label=label + (f" (n={len(curves)})" if len(curves) > 1 else ""))
        if len(curves) > 1:
            axes.fill_between(steps, [m - s for m, s in zip(means, stds, strict=True)],
                              [m + s for m, s in zip(means, stds, strict=True)], color=line.get_color(), alpha=0.2)
    axes.set_xlabel("training step")
    axes.set_ylabel(metric)
    axes.legend(fontsize=7)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100, bbox_inches="tight")
    return out


def _row_label(header: list[str], row: list, n_index: int | None) -> str:
    """The row's config values (``key=value ...``), or its run name in an ungrouped table."""
    end = n_index if n_index is not None else next(i for i, c in enumerate(row) if isinstance(c, Cell))
    parts = [f"{h}={v}" for h, v in zip(header[:end], row[:end], strict=True) if h != "run"]
    return " ".join(parts) or (str(row[0]) if n_index is None else "all runs")
