"""The first rows of a stream of batches: the fixed images that pictures and tools show."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch


def first_rows(batches: Iterable[Sequence[torch.Tensor]], n: int) -> tuple[torch.Tensor, ...]:
    """The first ``n`` rows of each part of ``batches`` (e.g. images and labels), read no further than needed.
    Parts are counted apart, so a part whose batches hold fewer rows (masked images) is read on until it has
    ``n`` too; a part gets fewer only when the stream ends first."""
    kept: list[list[torch.Tensor]] = []
    for parts in batches:
        kept = kept or [[] for _ in parts]
        for rows, part in zip(kept, parts, strict=True):
            rows.append(part)
        if all(sum(len(part) for part in rows) >= n for rows in kept):
            break
    return tuple(torch.cat(rows)[:n] for rows in kept)
