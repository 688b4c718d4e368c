"""Publish a run folder as ONE W&B run, whatever number of processes (train, resumes, requeues, evaluations) it
went through: the folder already holds every logged value once per step (the CSV copies, the pictures, the config,
the test metrics, the checkpoints), so it is replayed through wandb's public API with a step that only grows.

Each process of a run writes its own W&B offline fragment whose step restarts at 0, and ``wandb sync`` of several
fragments of one id does not join them (wandb/wandb#3841); replaying the folder does not depend on that. W&B
ignores a step lower than the run's current one, so the W&B step is a row counter that only grows, and the x-axis is
``trainer/global_step`` (the batches trained), as in a live run. The folder's ``wandb_sync.json`` records, per
destination, the rows sent and the last batch step sent with its metrics, so a second sync sends nothing and a sync
after more training sends exactly the new (metric, batch step) pairs: the metrics a run logs at its end (the last
validation's best, the test) sit at the batch step its next batch trains after a resume."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from genlab.core.errors import ConfigError
from genlab.runner.run.rundir import CSV_DIR, published

RECORD = "wandb_sync.json"
SYNC_DIR = "sync"  # an offline sync writes <run>/sync/wandb/offline-run-*, beside training's own <run>/wandb/
STEP_KEY = "trainer/global_step"  # the x-axis of every genlab W&B run (what Lightning's WandbLogger logs)
_PICTURE = re.compile(r"^(?P<key>.+)_step(?P<step>\d+)\.png$")


def read_history(run_dir: Path) -> dict[int, dict[str, float]]:
    """step -> {metric: value} from every CSV version in version order. A (metric, step) pair logged again keeps
    its first value: a resume trains the batches after its checkpoint again, with the same values (exact resume)."""
    history: dict[int, dict[str, float]] = {}
    versions = sorted(Path(run_dir, CSV_DIR).glob("version_*/metrics.csv"), key=lambda p: int(p.parent.name[8:]))
    for path in versions:
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if not row.get("step"):
                    continue
                values = history.setdefault(int(row["step"]), {})
                for key, text in row.items():
                    if key != "step" and text not in ("", None) and key not in values:
                        values[key] = float(text)
    return history


def read_pictures(run_dir: Path) -> dict[int, dict[str, Path]]:
    """step -> {key: png} from ``images/<key with / as _>_step<NNNNNNN>.png`` (genlab.callbacks.images); every
    picture key starts with ``images/``, so the first ``_`` is the ``/``."""
    pictures: dict[int, dict[str, Path]] = {}
    for path in sorted(Path(run_dir, "images").glob("*.png")):
        match = _PICTURE.match(path.name)
        if match:
            key = match["key"].replace("_", "/", 1)
            pictures.setdefault(int(match["step"]), {})[key] = path
    return pictures


def summary_of(history: dict[int, dict[str, float]], config: dict, test_metrics: dict[str, float]) -> dict:
    """Each metric's last value; the monitored metric as ``{<mode>: best, last: last}`` (what ``define_metric``
    makes of it in a live run); the test metrics of the latest evaluation (metrics.json) over the training's."""
    summary: dict = {}
    for step in sorted(history):
        summary.update({k: v for k, v in history[step].items() if k != "epoch"})
    summary.update(test_metrics)
    callbacks = config.get("callbacks") or {}
    monitor, mode = callbacks.get("monitor"), callbacks.get("monitor_mode", "min")
    values = [history[s][monitor] for s in sorted(history) if monitor in history[s]]
    if values:
        summary[monitor] = {mode: (min if mode == "min" else max)(values), "last": values[-1]}
    return summary


def best_checkpoint(run_dir: Path) -> Path | None:
    """The best checkpoint ModelCheckpoint kept, as ``last.ckpt`` records it (the path's name: the folder may
    have moved), or the only ``best-*.ckpt``."""
    folder = Path(run_dir, "checkpoints")
    bests = sorted(folder.glob("best-*.ckpt"))
    if len(bests) <= 1 or not (folder / "last.ckpt").is_file():
        return bests[0] if bests else None
    import torch  # only to read which of several best checkpoints is the best

    states = torch.load(folder / "last.ckpt", map_location="cpu", weights_only=True).get("callbacks", {})
    for key, state in states.items():
        if key.startswith("ModelCheckpoint") and state.get("best_model_path"):
            chosen = folder / Path(state["best_model_path"]).name
            if chosen.is_file():
                return chosen
    return bests[-1]


def checkpoints_to_log(run_dir: Path, log_model: str) -> dict[Path, str]:
    """checkpoint -> alias, as ``logger.log_model`` asks: ``last`` the resumable ``last.ckpt``, ``best`` the best
    checkpoint, ``all`` every checkpoint of the folder (each one saved), ``false`` none."""
    folder = Path(run_dir, "checkpoints")
    policy = str(log_model).lower()
    if policy == "last":
        return {folder / "last.ckpt": "last"} if (folder / "last.ckpt").is_file() else {}
    if policy == "best":
        best = best_checkpoint(run_dir)
        return {best: "best"} if best else {}
    if policy == "all":
        return {path: path.stem for path in sorted(folder.glob("*.ckpt"))}
    return {}


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _config_digest(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Plan:
    """What one sync of a run folder sends to one destination (nothing, when it is up to date)."""

    run_dir: Path
    run_id: str
    config: dict
    target: str
    rows: dict[int, dict] = field(default_factory=dict)  # batch step -> new metrics and pictures (Path values)
    first_row: int = 0  # the W&B step of the first row sent
    summary: dict = field(default_factory=dict)  # the whole summary, when it differs from what was sent
    checkpoints: dict[Path, str] = field(default_factory=dict)  # new or changed files -> alias
    send_config: bool = False

    @property
    def empty(self) -> bool:
        return not (self.rows or self.summary or self.checkpoints or self.send_config)

    def describe(self) -> str:
        if self.empty:
            return "nothing new"
        steps = sorted(self.rows)
        pictures = sum(isinstance(v, Path) for row in self.rows.values() for v in row.values())
        parts = [f"{len(steps)} batch steps ({steps[0]}..{steps[-1]})" if steps else "no new steps",
                 f"{pictures} pictures"]
        parts += ["summary"] if self.summary else []
        parts += ["config"] if self.send_config else []
        n = len(self.checkpoints)
        parts += [f"{n} checkpoint{'s' * (n > 1)} ({', '.join(p.name for p in self.checkpoints)})"] if n else []
        return ", ".join(parts)


def read_record(run_dir: Path) -> dict:
    path = Path(run_dir, RECORD)
    return json.loads(path.read_text()) if path.is_file() else {}


def plan_sync(run_dir: Path, target: str) -> Plan:
    """Compare the folder with what ``wandb_sync.json`` says was sent to ``target`` (``offline`` or
    ``online:<entity>/<project>``)."""
    run_dir = Path(run_dir)
    id_file, config_file = run_dir / "wandb_id.txt", run_dir / "config.yaml"
    if not id_file.is_file() or not config_file.is_file():
        raise ConfigError(f"{run_dir} is not a run folder (no wandb_id.txt or config.yaml)")
    config = yaml.safe_load(config_file.read_text()) or {}
    sent = read_record(run_dir).get(target, {})
    plan = Plan(run_dir, id_file.read_text().strip(), config, target)
    plan.first_row = sent.get("rows", 0)
    history, pictures = read_history(run_dir), read_pictures(run_dir)
    last, done = sent.get("last_step", -1), set(sent.get("last_step_keys", []))
    for step in sorted(set(history) | set(pictures)):
        row = {**history.get(step, {}), **pictures.get(step, {})}
        new = {k: v for k, v in row.items() if k not in done} if step == last else row if step > last else {}
        if new:
            plan.rows[step] = {**new, STEP_KEY: step}
    metrics_file = run_dir / "metrics.json"
    tests = {k: v for k, v in json.loads(metrics_file.read_text()).items() if isinstance(v, int | float)} \
        if metrics_file.is_file() else {}
    summary = summary_of(history, config, tests)
    plan.summary = summary if summary != sent.get("summary") else {}
    plan.send_config = _config_digest(config) != sent.get("config")
    logged = sent.get("checkpoints", {})
    plan.checkpoints = {p: alias for p, alias in checkpoints_to_log(run_dir, (config.get("logger") or {})
                                                                      .get("log_model", "false")).items()
                        if logged.get(p.name) != _fingerprint(p)}
    return plan


def record_sent(plan: Plan) -> None:
    """Add what ``plan`` sent to the folder's ``wandb_sync.json`` (written whole, then renamed over the old)."""
    record = read_record(plan.run_dir)
    entry = record.setdefault(plan.target, {})
    entry["rows"] = max(entry.get("rows", 0), plan.first_row + len(plan.rows))
    if plan.rows:
        last = max(plan.rows)
        keys = set(entry.get("last_step_keys", [])) if entry.get("last_step") == last else set()
        entry.update(last_step=last, last_step_keys=sorted(keys | set(plan.rows[last]) - {STEP_KEY}))
    if plan.summary:
        entry["summary"] = plan.summary
    entry["config"] = _config_digest(plan.config)
    entry.setdefault("checkpoints", {}).update({p.name: _fingerprint(p) for p in plan.checkpoints})
    entry["run_id"] = plan.run_id
    tmp = plan.run_dir / f".{RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(plan.run_dir / RECORD)


def run_folders(paths: list[Path]) -> list[Path]:
    """Run folders (holding ``wandb_id.txt``) given or under the given folders (a sweep, ``runs/``)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            raise ConfigError(f"{path} is not a folder; give run folders or folders holding runs (a sweep)")
        found += [p.parent for p in sorted(path.rglob("wandb_id.txt")) if (p.parent / "config.yaml").is_file()]
    if not found:
        raise ConfigError(f"no run folders (config.yaml and wandb_id.txt) in {' '.join(map(str, paths))}")
    return list(dict.fromkeys(p.resolve() for p in found))


def finish_written(run) -> None:
    """End the W&B ``run`` once the W&B service has written all of it: ``finish()`` can return before the service
    has written the whole offline log, and stopping the service waits for it."""
    import wandb  # the W&B SDK only where a run ends

    run.finish()
    wandb.teardown()


def publish(plan: Plan, mode: str, entity: str | None, project: str | None) -> str:
    """Send ``plan`` as the W&B run of the folder's id; returns the run's URL (online) or its offline folder."""
    import wandb  # the W&B SDK only where something is sent

    logger_cfg = plan.config.get("logger") or {}
    (plan.run_dir / SYNC_DIR).mkdir(exist_ok=True)
    # artifacts are staged under wandb's data dir before upload: inside the run folder, not $HOME's quota
    with published({"WANDB_DATA_DIR": str(plan.run_dir / SYNC_DIR / "data"), "WANDB_SILENT": "true"}):
        run = wandb.init(
            id=plan.run_id, resume="allow", mode=mode, dir=str(plan.run_dir / SYNC_DIR),
            entity=entity or logger_cfg.get("entity"), project=project or logger_cfg.get("project"),
            group=logger_cfg.get("group") or plan.config.get("experiment"), job_type="train",
            name=logger_cfg.get("name") or f"{plan.config.get('experiment')}/{plan.run_dir.name}",
            tags=list(logger_cfg.get("tags") or []), notes=logger_cfg.get("notes"),
            config=plan.config if plan.send_config else None)
        try:
            _send(run, plan, wandb)
        finally:
            finish_written(run)
    record_sent(plan)
    return run.url if mode == "online" and run.url else str(Path(run.dir).parent)


def _send(run, plan: Plan, wandb) -> None:
    run.define_metric(STEP_KEY)
    run.define_metric("*", step_metric=STEP_KEY, step_sync=True)
    from tqdm import tqdm  # Lightning's dependency: the progress bar on a terminal only

    steps = sorted(plan.rows)
    for i, step in enumerate(tqdm(steps, desc=plan.run_dir.name, unit="step", leave=False,
                                  disable=not sys.stderr.isatty())):
        row = {k: wandb.Image(str(v)) if isinstance(v, Path) else v for k, v in plan.rows[step].items()}
        run.log(row, step=plan.first_row + i)
    if plan.summary:
        run.summary.update(plan.summary)
    for path, alias in plan.checkpoints.items():
        artifact = wandb.Artifact(f"model-{plan.run_id}", type="model", metadata={"file": path.name})
        artifact.add_file(str(path), name="model.ckpt")
        run.log_artifact(artifact, aliases=[alias, "latest"])


def online_target(config: dict, entity: str | None = None, project: str | None = None) -> str:
    """The record's name for a W&B project: entity and project as given, else as the run config has them."""
    logger_cfg = config.get("logger") or {}
    return f"online:{entity or logger_cfg.get('entity') or ''}/{project or logger_cfg.get('project') or ''}"


def record_live(run_dir: Path, rows: int) -> None:
    """After a process of the run logged online into its W&B run itself (``rows``: that run's W&B step now):
    what the folder holds is there, so a later sync sends only what comes after it (a resume logged offline),
    from that row on; the summaries and checkpoints it still sends."""
    if not Path(run_dir, "wandb_id.txt").is_file() or not Path(run_dir, "config.yaml").is_file():
        return  # a checkpoint evaluated outside its run folder
    config = yaml.safe_load(Path(run_dir, "config.yaml").read_text()) or {}
    plan = plan_sync(run_dir, online_target(config))
    plan.first_row, plan.summary, plan.checkpoints = rows - len(plan.rows), {}, {}
    record_sent(plan)


def sync_runs(folders: list[Path], mode: str, entity: str | None = None, project: str | None = None,
              dry_run: bool = False, say=print) -> list[Plan]:
    """Sync run folders (``run_folders``) in ``mode`` (online or offline); one line per run through ``say``."""
    plans = []
    for run_dir in folders:
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        plan = plan_sync(run_dir, "offline" if mode == "offline" else online_target(config, entity, project))
        plans.append(plan)
        if plan.empty:
            say(f"{run_dir}: up to date (run {plan.run_id})")
        elif dry_run:
            say(f"{run_dir}: would send {plan.describe()} to run {plan.run_id} ({mode})")
        else:
            where = publish(plan, mode, entity, project)
            upload = f"; upload with: wandb sync {where}" if mode == "offline" else ""
            say(f"{run_dir}: sent {plan.describe()} to run {plan.run_id} at {where}{upload}")
    return plans
