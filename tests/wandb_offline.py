"""Read an offline W&B run back from its ``run-<id>.wandb`` file (LevelDB-log framing of protobuf records),
so tests can check what was really logged without a server or a mock."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
HEADER = 7  # b":W&B", 2-byte magic, 1-byte version
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _payloads(data: bytes):
    if data[:4] != b":W&B":
        raise ValueError("not a W&B transaction log")
    pos, pending = HEADER, b""
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # the block's tail is padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
        else:  # zero padding at the end of a block
            pos += BLOCK - pos % BLOCK if pos % BLOCK else 0


@dataclass
class OfflineArtifact:
    name: str
    type: str
    aliases: list[str]
    files: dict[str, Path]  # name in the artifact -> the staged copy it uploads


@dataclass
class OfflineRun:
    history: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    run_id: str = ""
    group: str = ""
    job_types: list[str] = field(default_factory=list)  # one per process that logged (train, evaluate, ...)
    artifacts: list[OfflineArtifact] = field(default_factory=list)

    def keys(self) -> set[str]:
        return {k for row in self.history for k in row}

    def values(self, key: str) -> list:
        return [row[key] for row in self.history if key in row]


def read_offline_run(run_dir: Path) -> OfflineRun:
    """The history rows, config and media files of the single offline W&B run under ``run_dir/wandb``."""
    runs = sorted(Path(run_dir, "wandb").glob("offline-run-*"))
    if not runs:
        raise FileNotFoundError(f"no offline W&B run under {run_dir}/wandb")
    out = OfflineRun()
    for run in runs:
        for log in sorted(run.glob("run-*.wandb")):
            for payload in _payloads(log.read_bytes()):
                record = wandb_internal_pb2.Record()
                record.ParseFromString(payload)
                which = record.WhichOneof("record_type")
                if which == "history":
                    out.history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                                        for item in record.history.item})
                if which == "artifact":
                    a = record.artifact
                    out.artifacts.append(OfflineArtifact(a.name, a.type, list(a.aliases),
                                                         {c.path: Path(c.local_path) for c in a.manifest.contents}))
                if which == "run":
                    out.run_id, out.group = record.run.run_id, record.run.run_group
                    out.job_types.append(record.run.job_type)
                if which in ("config", "run"):
                    updates = record.config.update if which == "config" else record.run.config.update
                    for item in updates:
                        out.config[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
                elif which == "summary":
                    for item in record.summary.update:
                        out.summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
        out.files += sorted((run / "files" / "media").rglob("*.png"))
    return out


class ApiShapedRun:
    """What ``wandb.Api().runs()`` yields for a run (``name``, ``path``, ``config``, ``summary``,
    ``scan_history()``), filled from a real offline run read back from disk instead of from the server."""

    def __init__(self, run_dir: Path, project: str = "genlab"):
        offline = read_offline_run(run_dir)
        self.name = Path(run_dir).name
        self.path = ["local", project, offline.run_id]
        self.config = {k: v for k, v in offline.config.items() if k != "_wandb"}
        self.summary = offline.summary
        self._history = offline.history

    def scan_history(self, keys: list[str] | None = None):
        return iter([{k: v for k, v in row.items() if keys is None or k in keys} for row in self._history])
