"""Stop conditions: guards that abort the run (and roll back) when it goes too far."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from brownout.experiments.spec.base import Name, StrictModel
from brownout.experiments.spec.units import Duration

__all__ = ["ErrorRateGuard", "Guard", "LatencyGuard", "ProbeFailuresGuard", "PromQLGuard"]


class _GuardBase(StrictModel):
    name: Name = Field(..., description="Unique guard name, shown in the report when it fires.")


class ErrorRateGuard(_GuardBase):
    """Abort when the error rate over `window` stays above `above` for `for`."""

    kind: Literal["error_rate"]
    above: float = Field(..., gt=0, le=1, description="Error-rate threshold (0..1).")
    for_: Duration = Field(0.0, alias="for", description="How long it must stay above before the guard fires.")
    window: Duration = Field(5.0, description="Sliding window the rate is computed over.")
    min_requests: int = Field(5, ge=1, description="Ignore windows with fewer completed requests.")


class LatencyGuard(_GuardBase):
    """Abort when a latency percentile over `window` stays above a limit."""

    kind: Literal["latency"]
    metric: Literal["ttft", "e2e", "itl"] = Field("ttft")
    stat: Literal["p50", "p90", "p95", "p99"] = Field("p95")
    above: Duration = Field(..., description="Latency limit.")
    for_: Duration = Field(0.0, alias="for")
    window: Duration = Field(5.0)
    min_requests: int = Field(5, ge=1)


class ProbeFailuresGuard(_GuardBase):
    """Abort when a probe fails `consecutive` times in a row."""

    kind: Literal["probe_failures"]
    probe: Name = Field(..., description="Probe name.")
    consecutive: int = Field(3, ge=1)


class PromQLGuard(_GuardBase):
    """Abort when a PromQL instant query crosses a threshold (an alert)."""

    kind: Literal["promql"]
    url: str = Field(..., pattern=r"^https?://")
    query: str = Field(..., min_length=1)
    op: Literal["<", "<=", ">", ">="]
    threshold: float
    for_: Duration = Field(0.0, alias="for")


Guard = Annotated[
    ErrorRateGuard | LatencyGuard | ProbeFailuresGuard | PromQLGuard,
    Field(discriminator="kind"),
]
