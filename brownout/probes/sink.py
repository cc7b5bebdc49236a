"""A JSON-lines file that results are appended to from a background thread while others read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

__all__ = ["JsonlSink"]


class JsonlSink:
    """Thread-safe append of dict rows, flushed per batch so a crash loses at most the batch in hand.

    With no path it only keeps the lock (callers still serialise on it); `open` is
    idempotent, `close` too.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.lock = threading.Lock()
        self._file: IO[str] | None = None

    def open(self) -> None:
        with self.lock:
            if self.path is not None and self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows; the caller holds `lock` (it updates its in-memory lists under the same lock)."""
        if self._file is None:
            return
        for row in rows:
            self._file.write(json.dumps(row, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        with self.lock:
            if self._file is not None:
                self._file.close()
                self._file = None
