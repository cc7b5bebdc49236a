"""Request outcome: ok, degraded or failed (with its error class). Pure; rules in shared/metrics.md."""

from __future__ import annotations

import hashlib
import http.client
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from brownout.spec.objectives import OutcomeRules
from brownout.spec.probes import ContentCheck
from brownout.spec.checks import checks_failure
from brownout.rundata.records import Outcome
from brownout.loadgen.responses import Reply

__all__ = ["Verdict", "check_answer", "checked", "classify", "degraded_header", "status_class", "transport_error_class"]

_FALSY = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    error_class: str | None = None
    reason: str | None = None      # error text when failed, degraded_reason when degraded
    correct: bool | None = None    # the dataset item's checks passed; None when not judged


def checked(request_id: str, share: float) -> bool:
    """Whether this request's answer is judged: a stable draw by request id (the same run judges the same requests)."""
    if share >= 1:
        return True
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def check_answer(verdict: Verdict, text: str, checks: Sequence[ContentCheck]) -> Verdict:
    """A completed request judged by its item's checks: a failed one is degraded with the reason
    (a request already degraded keeps its first reason). Failed requests are not judged."""
    if verdict.outcome not in ("ok", "degraded") or not checks:
        return verdict
    failure = checks_failure(checks, text)
    if failure is None:
        return replace(verdict, correct=True)
    reason = verdict.reason if verdict.outcome == "degraded" else f"content check: answer {failure}"
    return Verdict("degraded", reason=reason, correct=False)


def status_class(status: int) -> str | None:
    """Error class of an HTTP status; None for success. A 3xx reaching here was not followed."""
    if 300 <= status < 400:
        return "redirect"
    if status == 429:
        return "throttled"
    if 400 <= status < 500:
        return "http_4xx"
    if status >= 500:
        return "http_5xx"
    return None


def transport_error_class(exc: BaseException, after_headers: bool) -> str:
    """Error class of an exception raised while sending or reading a request.

    geventhttpclient wraps some errors (`RetriesExceeded.original`) and raises
    `http.client.HTTPException` subclasses when a connection closes mid-message:
    after the headers that is a cut stream, before them a closed connection.
    """
    exc = getattr(exc, "original", None) or exc
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls_certificate"
    if isinstance(exc, ssl.SSLError):
        return "tls_error"
    if isinstance(exc, ConnectionRefusedError):
        return "connect_refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "connection_reset"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, http.client.HTTPException):
        return "stream_cut" if after_headers else "connection_reset"
    return "client_error"


def degraded_header(headers: Mapping[str, str], names: list[str]) -> str | None:
    """The first of `names` present with a truthy value (headers keyed in lower case)."""
    for name in names:
        value = headers.get(name.lower())
        if value is not None and value.strip().lower() not in _FALSY:
            return name
    return None


def classify(
    kind: str,
    reply: Reply,
    *,
    rules: OutcomeRules,
    primary_model: str,
    header: str | None = None,
    ttft: float | None = None,
    e2e: float | None = None,
    output_tokens: int | None = None,
) -> Verdict:
    """Judge a response whose transport succeeded with a 2xx status.

    Failures first (malformed, error body, stream cut, empty), then the first
    degradation rule that matches, in the order of OutcomeRules' fields.
    `output_tokens` is the request's count from brownout.loadgen.tokens.
    """
    if reply.malformed is not None:
        return Verdict("failed", "malformed_sse", reply.malformed)
    if reply.error_body is not None:
        return Verdict("failed", "error_body", reply.error_body)
    if reply.streamed and not reply.done:
        return Verdict("failed", "stream_cut", "stream ended before [DONE]")
    if reply.content_events == 0 and not reply.output_tokens:
        return Verdict("failed", "empty_completion", "no generated content")
    if reply.model is not None and reply.model != primary_model:
        return Verdict("degraded", reason=f"served by model {reply.model}")
    if header is not None:
        return Verdict("degraded", reason=f"header {header}")
    if reply.retrieval == "keyword":
        return Verdict("degraded", reason="retrieval: keyword")
    if rules.ttft_budget is not None and ttft is not None and ttft > rules.ttft_budget:
        return Verdict("degraded", reason=f"ttft {ttft:.3f}s over budget {rules.ttft_budget:g}s")
    if rules.e2e_budget is not None and e2e is not None and e2e > rules.e2e_budget:
        return Verdict("degraded", reason=f"e2e {e2e:.3f}s over budget {rules.e2e_budget:g}s")
    if kind in ("chat", "completions") and output_tokens is not None and output_tokens < rules.min_output_tokens:
        return Verdict("degraded", reason=f"{output_tokens} output tokens, fewer than {rules.min_output_tokens}")
    return Verdict("ok")
