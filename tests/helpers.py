"""Helpers shared by several test modules."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_checksums(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` by relative path (folders included as empty entries), so a test
    can assert that a command changed, added or removed nothing there."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<dir>"
    return out
