"""Where a run's progress lines go: readable text for people, JSON lines for CI log parsers."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Literal, TextIO

__all__ = ["Console"]


class Console:
    """A callable log: `console(message, **fields)`.

    In `text` format only the message is written; in `json` format each line is one
    JSON object with `t` (epoch seconds), `message` and the structured fields (for
    example `event="progress"` with the load counters), so a CI system can parse a
    run's log without scraping prose.
    """

    def __init__(self, fmt: Literal["text", "json"] = "text", stream: TextIO | None = None) -> None:
        self.fmt = fmt
        self.stream = stream or sys.stderr
        self.closed = False

    def __call__(self, message: str, **fields: Any) -> None:
        if self.fmt == "json":
            line = json.dumps({"t": round(time.time(), 3), "message": message, **fields}, default=str)
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
