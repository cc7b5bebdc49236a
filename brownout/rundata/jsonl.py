"""Reading the run's JSON-lines files, which a process killed mid-write may leave with a truncated last line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["read_objects", "read_rows"]

T = TypeVar("T")


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Each JSON object of a JSON-lines file; blank and unparseable lines are skipped, a missing file is empty."""
    if not Path(path).exists():
        return
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                yield row


def read_objects(path: Path, build: Callable[..., T]) -> list[T]:
    """`build(**row)` for each row; rows of another shape (a scrape-failure line among samples) are skipped."""
    out = []
    for row in read_rows(path):
        try:
            out.append(build(**row))
        except TypeError:
            continue
    return out
