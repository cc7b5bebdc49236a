"""Incremental reading of a JSON-lines file that another process is appending to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["JsonlTail"]


class JsonlTail:
    """Each `read()` returns the objects of the lines completed since the last call.

    A trailing partial line (the writer is mid-line) is kept for the next call.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def read(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out
