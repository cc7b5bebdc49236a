"""Stop conditions: guards that abort the run (and roll back) when it goes too far."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from brownout.spec.base import Name, StrictModel
from brownout.spec.units import Duration

__all__ = ["AccuracyGuard", "ErrorRateGuard", "Guard", "LatencyGuard", "ProbeFailuresGuard", "PromQLGuard"]


class _GuardBase(StrictModel):
    name: Name = Field(..., description="Unique guard name, shown in the report when it fires.")


class _WindowGuard(_GuardBase):
    for_: Duration = Field(0.0, alias="for", description="How long it must stay above before the guard fires.")
    window: Duration = Field(5.0, description="Sliding window, by completion time, the value is computed over.")
    min_requests: int = Field(5, ge=1, description="Ignore windows with fewer completed requests.")

    @model_validator(mode="after")
    def _positive_window(self) -> _WindowGuard:
        if self.window <= 0:
            raise ValueError("window must be longer than 0")
        return self


class ErrorRateGuard(_WindowGuard):
    """Abort when the error rate over `window` stays above `above` for `for`.

    Error rate as in shared/metrics.md: failed requests other than throttled (429) ones,
    over all completed requests."""

    kind: Literal["error_rate"]
    above: float = Field(..., ge=0, lt=1, description="Error-rate threshold (0..1); the guard fires above it.")


class LatencyGuard(_WindowGuard):
    """Abort when a latency percentile over `window` stays above a limit (successful requests only)."""

    kind: Literal["latency"]
    metric: Literal["ttft", "e2e", "itl"] = Field("ttft", description="Latency metric; itl pools every gap of the window's requests.")
    stat: Literal["p50", "p90", "p95", "p99"] = Field("p95", description="Percentile compared with the limit.")
    above: Duration = Field(..., description="Latency limit.")


class ProbeFailuresGuard(_GuardBase):
    """Abort when a probe fails `consecutive` times in a row."""

    kind: Literal["probe_failures"]
    probe: Name = Field(..., description="Probe name.")
    consecutive: int = Field(3, ge=1, description="Failures in a row that fire the guard.")


class AccuracyGuard(_GuardBase):
    """Abort when accuracy (golden answers and checked load requests, as the metric) over `window` stays below `below`."""

    kind: Literal["accuracy"]
    below: float = Field(..., gt=0, le=1, description="Accuracy threshold (0..1); the guard fires below it.")
    for_: Duration = Field(0.0, alias="for", description="How long it must stay below before the guard fires.")
    window: Duration = Field(10.0, description="Sliding window, by the time an answer was judged.")
    min_answers: int = Field(3, ge=1, description="Ignore windows with fewer judged answers.")
    probe: Name | None = Field(None, description="Only this golden probe's answers (no load requests).")

    @model_validator(mode="after")
    def _positive_window(self) -> AccuracyGuard:
        if self.window <= 0:
            raise ValueError("window must be longer than 0")
        return self


class PromQLGuard(_GuardBase):
    """Abort when a PromQL instant query crosses a threshold (an alert)."""

    kind: Literal["promql"]
    url: str = Field(..., pattern=r"^https?://", description="Prometheus base URL.")
    query: str = Field(..., min_length=1, description="PromQL instant query; its first value is compared.")
    op: Literal["<", "<=", ">", ">="] = Field(..., description="The guard fires while `value op threshold` holds.")
    threshold: float = Field(..., description="Threshold the value is compared with.")
    for_: Duration = Field(0.0, alias="for", description="How long the condition must hold before the guard fires.")
    interval: Duration = Field(2.0, description="Least time between two queries.")
    timeout: Duration = Field(2.0, description="Timeout of one query; a failed query never fires the guard.")


Guard = Annotated[
    ErrorRateGuard | LatencyGuard | ProbeFailuresGuard | PromQLGuard | AccuracyGuard,
    Field(discriminator="kind"),
]
