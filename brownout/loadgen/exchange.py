"""One request, one record: send it with Locust's FastHttpSession and time every mark.

Runs inside the gevent load process. Bodies are read by `body.BodyReader`
(linear in the bytes, bounded by `load.max_event_size`, checked against the
request's deadline after every block), which hands over each SSE line as soon
as it arrives. `load.timeout` bounds the whole request: a gevent.Timeout while
waiting, the reader's deadline while data pours in, and a last check on the
clock, so no request that took longer is ever counted as answered.
The record is filled in place, and a request that fails or is abandoned
mid-stream keeps every mark and token it already had. A stream ends at
`[DONE]`: what the server sends after it is counted as an anomaly, never read
as output. Redirects are followed here (never by geventhttpclient) only with
`follow_redirects`, at most MAX_REDIRECTS times.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import gevent

from brownout.spec.objectives import OutcomeRules, ServedBy
from brownout.http_options import MAX_REDIRECTS, REDIRECT_STATUSES
from brownout.loadgen.body import BodyReader, OversizedEvent, RequestDeadline, UnsupportedEncoding
from brownout.loadgen.outcome import (
    check_answer,
    checked,
    classify,
    degraded_header,
    status_class,
    transport_error_class,
)
from brownout.loadgen.payloads import RequestSpec
from brownout.rundata.records import RequestRecord
from brownout.rundata.clock import RunClock
from brownout.loadgen.responses import Reply, StreamParser, parse_body
from brownout.loadgen.sendmark import SendMarks
from brownout.loadgen.tokenizer import TokenCounter
from brownout.loadgen.tokens import prompt_texts, token_counts

__all__ = ["AFTER_DONE_GRACE", "ExchangeSettings", "RequestDeadline", "abandon", "exchange", "fail"]

AFTER_DONE_GRACE = 0.25  # seconds a response gets to end after [DONE] before it counts as held open


@dataclass(frozen=True)
class ExchangeSettings:
    clock: RunClock
    timeout: float
    rules: OutcomeRules
    primary_model: str
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request
    keep_text: bool = False             # keep the generated text (multi-turn sessions)
    tokenizer: TokenCounter | None = None  # offline token counts when the server reports no usage
    send_marks: SendMarks | None = None    # when requests actually went out (else t_send is taken before the call)
    max_event_size: int = 1 << 20       # bytes of one SSE event or one body (load.max_event_size)
    usage_tolerance: float = 0.5        # load.usage_tolerance (tokens.py)
    follow_redirects: bool = False
    answer: str | None = None           # load.http.answer: where a non-streamed answer's text is
    check_share: float = 1.0            # load.dataset.check_share: requests whose item has checks that are judged


@dataclass
class _Seen:
    """What a request had understood when it ended: kept on its record even when it fails."""

    reply: Reply | None = None


def fail(rec: RequestRecord, error_class: str, text: str, t: float) -> None:
    rec.outcome = "failed"
    rec.error_class = error_class
    rec.error = text[:200]
    rec.t_end = t


def abandon(rec: RequestRecord, why: str, t: float) -> None:
    """The harness gave up on the request (drain expired, stop, interrupt): never a failure of the target.

    The marks it reached stay; only the outcome and the end change.
    """
    rec.outcome = "abandoned"
    rec.error_class = None
    rec.error = f"abandoned: {why}"[:200]
    rec.t_end = t


def _served_by(rec: RequestRecord, value: str | None, rule: ServedBy) -> None:
    if value is not None:
        rec.served_by = value
        rec.region = rule.regions.get(value, value)


def exchange(client: Any, spec: RequestSpec, rec: RequestRecord, settings: ExchangeSettings) -> Reply | None:
    """Send `spec` with `client` (a FastHttpSession) and fill `rec`; never raises except GreenletExit.

    Returns what was understood of the response (None when the request failed).
    """
    clock = settings.clock
    seen = _Seen()
    deadline = time.monotonic() + settings.timeout
    started = clock.now()
    try:
        with gevent.Timeout(settings.timeout, RequestDeadline(f"no complete response within {settings.timeout:g}s")):
            response = _post(client, spec, rec, settings)
            if response is None:
                return None
            reply = _read(response, spec, rec, settings, deadline, seen)
            if rec.t_end is not None and rec.t_end > started + settings.timeout:
                raise RequestDeadline(f"no complete response within {settings.timeout:g}s")
            _finish(rec, spec, reply, response, settings)
            return reply
    except gevent.GreenletExit:
        _keep_marks(rec, spec, seen.reply, settings)
        raise
    except RequestDeadline as exc:
        _failed(rec, spec, seen, settings, "timeout", str(exc))
    except OversizedEvent as exc:
        _failed(rec, spec, seen, settings, "oversized_event", str(exc))
    except UnsupportedEncoding as exc:
        _failed(rec, spec, seen, settings, "unsupported_encoding", str(exc))
    except _StatusFailure as exc:
        _failed(rec, spec, seen, settings, exc.error_class, str(exc))
    except Exception as exc:  # noqa: BLE001 - every transport error becomes a classified record
        error_class = transport_error_class(exc, rec.t_headers is not None)
        _failed(rec, spec, seen, settings, error_class, f"{type(exc).__name__}: {exc}")
    return None


def _post(client: Any, spec: RequestSpec, rec: RequestRecord, settings: ExchangeSettings) -> Any:
    """The response to `spec`, after the redirects we may follow; None when the request already failed (rec filled)."""
    clock = settings.clock
    payload = json.dumps(spec.body).encode()
    headers = {**settings.headers, **spec.headers, "X-Request-Id": rec.request_id}
    marks = settings.send_marks
    url = spec.path
    for hop in range(MAX_REDIRECTS + 1):
        if marks is not None:
            marks.take()  # forget a mark an earlier, failed call may have left
        if hop == 0:
            rec.t_send = clock.now()  # until the send mark says when the bytes went out (sendmark.py)
        response = client.post(url, data=payload, headers=headers, stream=True, name=spec.kind)
        sent = marks.take() if marks is not None else None
        if sent is not None and hop == 0:
            rec.t_send = clock.from_monotonic(sent)
        status = response.status_code or None
        location = _header(response, "location") if status in REDIRECT_STATUSES else None
        if location is None:
            return response
        response._response.release()
        rec.status, rec.t_headers = status, clock.now()
        if not settings.follow_redirects:
            return _redirect_failed(rec, f"HTTP {status} redirect to {location} (follow_redirects is off)")
        url = urljoin(url if url.startswith(("http://", "https://")) else client.base_url.rstrip("/") + url, location)
    return _redirect_failed(rec, f"more than {MAX_REDIRECTS} redirects (the last to {url})")


def _redirect_failed(rec: RequestRecord, text: str) -> None:
    fail(rec, "redirect", text, rec.t_headers or 0.0)
    rec.failed_at = "before_first_token"
    return None


def _header(response: Any, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name:
            return value
    return None


def _read(response: Any, spec: RequestSpec, rec: RequestRecord, settings: ExchangeSettings, deadline: float,
          seen: _Seen) -> Reply:
    clock = settings.clock
    now = clock.now()
    error = getattr(response, "error", None)
    status = response.status_code or None
    rec.status = status
    if status is not None:
        rec.t_headers = now
    failed_status = status_class(status) if status else None
    if failed_status is not None:
        response._response.release()
        raise _StatusFailure(failed_status, f"HTTP {status}")
    if error is not None:
        raise error
    headers = {k.lower(): v for k, v in response.headers.items()}
    served_by = settings.rules.served_by
    if served_by is not None and served_by.header is not None:
        _served_by(rec, headers.get(served_by.header.lower()), served_by)
    field_name = served_by.field if served_by is not None else None
    raw = response._response
    reader = BodyReader(raw, deadline, settings.max_event_size, headers.get("content-encoding"))
    if not spec.stream:
        reply = parse_body(spec.kind, reader.body(), field_name, settings.answer)
        rec.t_end = clock.now()
        return reply
    keep = settings.keep_text or settings.tokenizer is not None or _judged(spec, rec, settings)
    parser = StreamParser(spec.kind, keep, field_name)
    seen.reply = reply = parser.reply
    while True:
        line = reader.line()
        t = clock.now()
        if not line:
            break
        if time.monotonic() > deadline:  # data that never had to be waited for: the clock still rules
            raise RequestDeadline(f"no complete response within {settings.timeout:g}s")
        parser.feed(line, t)
        if reply.failed:
            break
        if reply.done:
            rec.t_end = t
            _after_done(rec, reader, deadline)
            return reply
    rec.t_end = clock.now()
    return reply


def _after_done(rec: RequestRecord, reader: BodyReader, deadline: float) -> None:
    """The stream ended at [DONE]: note (never read) what the server still sent, or how it failed to end."""
    grace = max(0.0, min(AFTER_DONE_GRACE, deadline - time.monotonic()))
    try:
        extra, ended = reader.rest(grace)
    except Exception as exc:  # noqa: BLE001 - after [DONE] nothing can fail the request any more
        rec.anomaly = f"after [DONE]: {type(exc).__name__}: {exc}"[:200]
        return
    if extra:
        rec.anomaly = f"after [DONE]: {extra} more bytes (ignored)"
    elif not ended:
        rec.anomaly = f"after [DONE]: the response did not end within {grace:g}s (connection held open)"


def _judged(spec: RequestSpec, rec: RequestRecord, settings: ExchangeSettings) -> bool:
    """The request's item has checks and the sample picks it (`load.dataset.check_share`)."""
    return bool(spec.checks) and checked(rec.request_id, settings.check_share)


class _StatusFailure(Exception):
    def __init__(self, error_class: str, text: str) -> None:
        super().__init__(text)
        self.error_class = error_class


def _failed(rec: RequestRecord, spec: RequestSpec, seen: _Seen, settings: ExchangeSettings, error_class: str,
            text: str) -> None:
    """Fail `rec` keeping every mark and token it reached, and say where it failed."""
    fail(rec, error_class, text, settings.clock.now())
    reply = seen.reply
    _keep_marks(rec, spec, reply, settings)
    if rec.t_headers is None:
        rec.failed_at = "before_headers"
    elif rec.t_first is None:
        rec.failed_at = "before_first_token"
    else:
        rec.failed_at = "mid_stream"


def _keep_marks(rec: RequestRecord, spec: RequestSpec, reply: Reply | None, settings: ExchangeSettings) -> None:
    """Copy the content marks and token counts of `reply` (what had arrived) onto `rec`."""
    if reply is None:
        return
    rec.t_first, rec.t_last, rec.itl = reply.t_first, reply.t_last, reply.itl
    if reply.model is not None:
        rec.model = reply.model
    if settings.rules.served_by is not None:
        _served_by(rec, reply.served_by, settings.rules.served_by)
    tokens = token_counts(spec.kind, reply, prompt_texts(spec.kind, spec.body), settings.tokenizer, settings.usage_tolerance)
    rec.input_tokens, rec.output_tokens, rec.token_source = tokens.input, tokens.output, tokens.source
    rec.usage_mismatch = tokens.mismatch
    if "tools" in spec.body:
        rec.tool_calls = len(reply.tool_calls)


def _finish(rec: RequestRecord, spec: RequestSpec, reply: Reply, response: Any, settings: ExchangeSettings) -> None:
    if rec.t_end is None:
        rec.t_end = settings.clock.now()
    _keep_marks(rec, spec, reply, settings)
    header = degraded_header({k.lower(): v for k, v in response.headers.items()}, settings.rules.degraded_headers)
    e2e = rec.t_end - rec.t_send if rec.t_send is not None else None
    verdict = classify(
        spec.kind, reply, rules=settings.rules, primary_model=settings.primary_model, header=header, ttft=rec.ttft,
        e2e=e2e, output_tokens=rec.output_tokens,
    )
    if _judged(spec, rec, settings):
        verdict = check_answer(verdict, "".join(reply.answer), spec.checks)
        rec.correct = verdict.correct
    rec.outcome = verdict.outcome
    if verdict.outcome == "failed":
        rec.error_class, rec.error = verdict.error_class, verdict.reason
        rec.failed_at = "before_first_token" if rec.t_first is None else "mid_stream"
    elif verdict.outcome == "degraded":
        rec.degraded_reason = verdict.reason
