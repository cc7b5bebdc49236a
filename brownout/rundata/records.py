"""One request, one record: the contract between the load generator and scoring.

Every time mark is on the run clock (`brownout.rundata.clock`). Definitions:
shared/metrics.md.

Records are appended to JSON-lines files as they complete (bounded memory for
hour-long runs) and loaded into one pandas frame for scoring.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Iterable, Literal

from brownout.rundata.jsonl import read_rows

__all__ = [
    "ERROR_CLASSES",
    "FAILED_AT",
    "RECORDS_FILE",
    "DropReason",
    "Outcome",
    "RecordWriter",
    "RequestRecord",
    "TokenSource",
    "load_records",
]

RECORDS_FILE = "records.jsonl"  # in the load folder: every record of the run, one JSON object a line

Outcome = Literal["ok", "degraded", "failed", "abandoned"]
"""`abandoned`: the harness gave up on the request (drain expired, stop condition, interrupt); never a target failure."""
TokenSource = Literal["usage", "tokenizer", "chunks", "none"]
DropReason = Literal["in_flight_cap", "load_backlog"]
"""Whose limit dropped an arrival: `load.max_in_flight` full of sent requests, or the load generator's own backlog
(it fell behind its schedule, or arrivals it had not sent yet held the in-flight slots)."""

ERROR_CLASSES = (
    "connect_refused",   # TCP connection refused
    "connect_timeout",   # no TCP connection within the timeout
    "connection_reset",  # reset before or during the response
    "timeout",           # no complete response within the request timeout
    "http_4xx",          # 4xx other than 429
    "throttled",         # 429 (counted apart: throttle_rate)
    "http_5xx",          # 5xx
    "stream_cut",        # stream ended before [DONE]
    "malformed_sse",     # unparseable event or JSON
    "error_body",        # 200 with an error object in the body
    "empty_completion",  # completed with no generated content
    "oversized_event",   # one SSE event (or a body) over load.max_event_size
    "unsupported_encoding",  # compressed with a Content-Encoding other than gzip or deflate
    "redirect",          # a 3xx not followed (follow_redirects off), or more than MAX_REDIRECTS
    "tls_certificate",   # the server's certificate failed verification
    "tls_error",         # any other TLS failure
    "dropped",           # never sent on time because of the harness's own limits (`drop_reason`): not the target's
    "client_error",      # anything else, with the exception text in `error`
)

FAILED_AT = ("before_headers", "before_first_token", "mid_stream")
"""Where a request failed, from the marks it reached: `failed_at` of a failed record (None when never sent).
Nothing after `[DONE]` fails a request: it is recorded as its `anomaly` ("after [DONE]: ...")."""


@dataclass(slots=True)
class RequestRecord:
    """Everything measured about one request. Marks are run-clock seconds (see module doc)."""

    request_id: str
    kind: str                       # chat | completions | embeddings | rag
    worker: str                     # worker id that sent it
    t_sched: float | None           # open-loop schedule time; None in closed loop
    t_send: float | None            # None when dropped before sending
    t_headers: float | None = None
    t_first: float | None = None    # first content-carrying event
    t_last: float | None = None     # last content-carrying event
    t_end: float | None = None      # stream closed / response complete
    itl: list[float] = field(default_factory=list)  # gaps between content events, seconds
    input_tokens: int | None = None
    output_tokens: int | None = None
    token_source: TokenSource = "none"
    status: int | None = None       # HTTP status
    outcome: Outcome = "failed"
    error_class: str | None = None  # one of ERROR_CLASSES when failed
    error: str | None = None        # short human text
    failed_at: str | None = None    # one of FAILED_AT when failed after it was sent
    anomaly: str | None = None      # a protocol anomaly that did not fail the request (bytes after [DONE], ...)
    usage_mismatch: str | None = None  # the server's usage disagreed with the stream and was set aside (tokens.py)
    degraded_reason: str | None = None
    model: str | None = None        # model that served it (from the response)
    served_by: str | None = None    # who served it, as `outcome.served_by` reads it (header or JSON field)
    region: str | None = None       # that value mapped to a region (`outcome.served_by.regions`), else the value
    session: str | None = None      # multi-turn session id
    correct: bool | None = None     # the dataset item's content checks passed; None when not checked (accuracy)
    turn: int | None = None         # 1-based turn of its session
    turns: int | None = None        # turns its session was to have (the session survived if every one succeeded)
    workflow: str | None = None     # tool-calling workflow id
    step: int | None = None         # 1-based step of its workflow
    tool_calls: int | None = None   # workflow steps: tool calls the answer asked for (0: the final answer)
    max_steps: int | None = None    # workflow steps: the workflow's step limit
    drop_reason: DropReason | None = None  # why a `dropped` arrival was never sent

    @property
    def ttft(self) -> float | None:
        return None if self.t_first is None or self.t_send is None else self.t_first - self.t_send

    def to_dict(self) -> dict[str, object]:
        """Shallow: `asdict` deep-copies `itl` value by value, which cost the load process more CPU per record
        than sending the request did."""
        return {name: getattr(self, name) for name in _COLUMNS}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


_COLUMNS = [f.name for f in fields(RequestRecord)]


class RecordWriter:
    """Appends records to a JSON-lines file, flushing each line so a crash loses at most one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
        self.count = 0

    def write(self, record: RequestRecord) -> None:
        self._file.write(record.to_json() + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_records(paths: Iterable[Path]):
    """Load JSON-lines record files into one pandas DataFrame with every record column.

    A truncated last line (a worker killed mid-write) is skipped, not fatal.
    """
    import pandas as pd

    return pd.DataFrame([row for path in paths for row in read_rows(path)], columns=_COLUMNS)
