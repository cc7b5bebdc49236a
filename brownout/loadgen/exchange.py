"""One request, one record: send it with Locust's FastHttpSession and time every mark.

Runs inside the gevent load process. Streams are read with
`response._response.readline(b"\\n")`, which hands over each SSE line as soon as
it arrives (Locust's `iter_lines` reads 1 KiB blocks and blurs inter-token gaps).
The record is filled in place so that a request abandoned mid-stream keeps the
marks it already has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import gevent

from brownout.experiments.spec.objectives import OutcomeRules, ServedBy
from brownout.loadgen.outcome import (
    classify,
    degraded_header,
    status_class,
    transport_error_class,
)
from brownout.loadgen.payloads import RequestSpec
from brownout.loadgen.records import RequestRecord, RunClock
from brownout.loadgen.responses import Reply, StreamParser, parse_body
from brownout.loadgen.sendmark import SendMarks
from brownout.loadgen.tokenizer import TokenCounter
from brownout.loadgen.tokens import prompt_texts, token_counts

__all__ = ["ExchangeSettings", "RequestDeadline", "abandon", "exchange", "fail"]


class RequestDeadline(Exception):
    """The whole request took longer than the load's timeout."""


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

    Returns what was understood of the response (None when no 2xx body was read).
    """
    clock = settings.clock
    payload = json.dumps(spec.body).encode()
    try:
        with gevent.Timeout(settings.timeout, RequestDeadline(f"no complete response within {settings.timeout:g}s")):
            headers = {**settings.headers, "X-Request-Id": rec.request_id}
            marks = settings.send_marks
            if marks is not None:
                marks.take()  # forget a mark an earlier, failed call may have left
            rec.t_send = clock.now()  # until the send mark says when the bytes went out (sendmark.py)
            response = client.post(spec.path, data=payload, headers=headers, stream=True, name=spec.kind)
            sent = marks.take() if marks is not None else None
            if sent is not None:
                rec.t_send = clock.from_monotonic(sent)
            return _read(response, spec, rec, settings)
    except RequestDeadline as exc:
        fail(rec, "timeout", str(exc), clock.now())
    except Exception as exc:  # noqa: BLE001 - every transport error becomes a classified record
        fail(rec, transport_error_class(exc, rec.t_headers is not None), f"{type(exc).__name__}: {exc}", clock.now())
    return None


def _read(response: Any, spec: RequestSpec, rec: RequestRecord, settings: ExchangeSettings) -> Reply | None:
    clock = settings.clock
    now = clock.now()
    error = getattr(response, "error", None)
    status = response.status_code or None
    rec.status = status
    if status is not None:
        rec.t_headers = now
    failed_status = status_class(status) if status else None
    if failed_status is not None:
        fail(rec, failed_status, f"HTTP {status}", now)
        return None
    if error is not None:
        raise error
    headers = {k.lower(): v for k, v in response.headers.items()}
    served_by = settings.rules.served_by
    if served_by is not None and served_by.header is not None:
        _served_by(rec, headers.get(served_by.header.lower()), served_by)
    field_name = served_by.field if served_by is not None else None
    raw = response._response
    if spec.stream:
        parser = StreamParser(spec.kind, settings.keep_text or settings.tokenizer is not None, field_name)
        readline = raw.readline
        while True:
            line = readline(b"\n")
            t = clock.now()
            if not line:
                break
            parser.feed(line, t)
            if parser.reply.failed:
                break
        reply = parser.reply
    else:
        reply = parse_body(spec.kind, raw.read(), field_name)
    rec.t_end = clock.now()
    _finish(rec, spec, reply, degraded_header(headers, settings.rules.degraded_headers), settings)
    return reply


def _finish(rec: RequestRecord, spec: RequestSpec, reply: Reply, header: str | None, settings: ExchangeSettings) -> None:
    kind = spec.kind
    rec.t_first, rec.t_last, rec.itl = reply.t_first, reply.t_last, reply.itl
    rec.model = reply.model
    if settings.rules.served_by is not None:
        _served_by(rec, reply.served_by, settings.rules.served_by)
    tokens = token_counts(kind, reply, prompt_texts(kind, spec.body), settings.tokenizer)
    rec.input_tokens, rec.output_tokens, rec.token_source = tokens.input, tokens.output, tokens.source
    e2e = rec.t_end - rec.t_send if rec.t_end is not None and rec.t_send is not None else None
    verdict = classify(
        kind, reply, rules=settings.rules, primary_model=settings.primary_model, header=header, ttft=rec.ttft, e2e=e2e,
        output_tokens=tokens.output,
    )
    rec.outcome = verdict.outcome
    if verdict.outcome == "failed":
        rec.error_class, rec.error = verdict.error_class, verdict.reason
    elif verdict.outcome == "degraded":
        rec.degraded_reason = verdict.reason
