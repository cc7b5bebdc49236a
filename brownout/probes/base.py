"""What every probe kind shares: one timed run that turns any failure into a `ProbeResult`.

A probe under chaos must report, not raise: a timeout, a refused connection, a
bad status or a garbled body all become a failed result with a `reason` a person
can read. Only misconfiguration (a bad URL, a missing kubeconfig) raises `ProbeError`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

import httpx

from brownout.errors import ProbeError
from brownout.spec.units import format_duration
from brownout.rundata.probes import ProbeResult
from brownout.probes.target import ProbeTarget

__all__ = ["CheckFailed", "ProbeCheck", "expect_status", "failure_reason", "json_body"]

SpecT = TypeVar("SpecT")


class CheckFailed(Exception):
    """Raised inside a check to fail the run with `reason`; `ProbeCheck.run` turns it into a result."""

    def __init__(self, reason: str, value: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value


def _chain(exc: BaseException):
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__ or getattr(current, "reason", None)
        if not isinstance(current, BaseException):
            current = None


def failure_reason(exc: BaseException) -> str:
    """A short, stable reason for a transport failure: "connection refused", "connection reset", ..."""
    chain = list(_chain(exc))
    text = " ".join(str(e) for e in chain)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return f"tls_certificate: {next(e for e in chain if isinstance(e, ssl.SSLCertVerificationError))}"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"redirect: {exc}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return "connection refused"
    if any(isinstance(e, ConnectionResetError) for e in chain) or "Connection reset" in text:
        return "connection reset"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"connection closed: {exc}"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def expect_status(response: httpx.Response, expected: int = 200) -> None:
    """A redirect (not followed: `follow_redirects` is off) is named with its location, as the load names it."""
    if response.is_redirect and response.status_code != expected:
        location = response.headers.get("location")
        raise CheckFailed(f"redirect: status {response.status_code} to {location} (follow_redirects is off)")
    if response.status_code != expected:
        raise CheckFailed(f"status {response.status_code} != {expected}")


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"malformed response: not JSON ({exc})") from None


class ProbeCheck(ABC, Generic[SpecT]):
    """One probe of one kind. Subclasses implement `check`; instances may keep a cache
    (the reference embedding, the Kubernetes client configuration) across runs."""

    kind: ClassVar[str]

    def __init__(self, spec: SpecT) -> None:
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name  # type: ignore[attr-defined]

    @property
    def timeout(self) -> float:
        return self.spec.timeout  # type: ignore[attr-defined]

    def latency_budget(self) -> float | None:
        """Runs slower than this fail; None when the kind has no budget."""
        return None

    @abstractmethod
    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        """Do the probe; return the measured value (or None); raise CheckFailed to fail it."""

    async def run(self, client: httpx.AsyncClient, target: ProbeTarget) -> ProbeResult:
        """One run within the probe's timeout. Never raises but ProbeError (misconfiguration)."""
        t = target.clock.now()
        started = time.monotonic()
        latency: float | None = None
        value: float | None = None
        try:
            async with asyncio.timeout(self.timeout):
                value = await self.check(client, target)
            latency = time.monotonic() - started
            budget = self.latency_budget()
            if budget is not None and latency > budget:
                raise CheckFailed(f"latency {latency:.3f}s > budget {format_duration(budget)}", value)
            reason, ok = "ok", True
        except CheckFailed as failed:
            latency = time.monotonic() - started
            reason, ok, value = failed.reason, False, failed.value
        except (TimeoutError, httpx.TimeoutException):
            reason, ok = f"timeout after {format_duration(self.timeout)}", False
        except ProbeError:
            raise
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ProbeError(f"probe '{self.name}': bad URL: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - a probe reports what broke; it never takes the run down
            reason, ok = failure_reason(exc), False
        return ProbeResult(probe=self.name, kind=self.kind, t=t, ok=ok, latency=latency, reason=reason, value=value)
