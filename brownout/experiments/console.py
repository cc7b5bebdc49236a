"""Where a run's progress lines go: readable text for people, JSON lines for CI log parsers."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, Literal, TextIO

__all__ = ["Console", "fields_text", "rollback_line"]


def fields_text(detail: dict[str, Any]) -> str:
    """A fault's detail as words, `killed: llm-us-east-1 (pid 4242); region: us-east`, never a dict repr."""

    def words(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k} ({words(v)})" if v not in (None, "") else str(k) for k, v in value.items()) or "none"
        if isinstance(value, (list, tuple, set)):
            return ", ".join(words(v) for v in value) or "none"
        return str(value)

    return "; ".join(f"{key}: {words(value)}" for key, value in detail.items())


def rollback_line(fault: str, detail: dict[str, Any]) -> str:
    """`rolled back 'x'`, or `recovery watched 'x'` when the undo had nothing to undo (a replica kill: the
    supervisor restarts it; the recovery phase watches it come back)."""
    if detail.get("undone") is False:
        note = detail.get("note")
        return f"recovery watched '{fault}' (nothing to undo{': ' + str(note) if note else ''})"
    return f"rolled back '{fault}'"


class Console:
    """A callable log: `console(message, **fields)`.

    In `text` format only the message is written, to stderr. In `json` format each line is one
    JSON object on stdout, which then carries nothing else: `ts` (epoch seconds, strictly
    increasing), `event` (`log` unless given), `level` (`info` unless given), `message` and the
    structured fields (for example `event="progress"` with the load counters), so a CI system
    can parse a run's log without scraping prose; the run ends with one `result` event.
    """

    def __init__(self, fmt: Literal["text", "json"] = "text", stream: TextIO | None = None) -> None:
        self.fmt = fmt
        self.stream = stream or (sys.stdout if fmt == "json" else sys.stderr)
        self.closed = False
        self._lock = threading.Lock()   # rollback and readiness threads log too: one line at a time, ts in order
        self._last = 0.0

    def __call__(self, message: str, **fields: Any) -> None:
        with self._lock:
            if self.fmt == "json":
                self._last = max(time.time(), self._last + 1e-6)
                record = {"ts": round(self._last, 6), "event": fields.pop("event", "log"),
                          "level": fields.pop("level", "info"), "message": message, **fields}
                line = json.dumps(record, default=str)
            else:
                line = message
            if self.closed:
                return
            try:
                print(line, file=self.stream, flush=True)
            except (BrokenPipeError, OSError, ValueError):
                # The reader of our log went away (`| head`, a closed terminal). Losing the log must not
                # stop the run, least of all its rollback: stop writing and carry on.
                self.closed = True
