"""Faults made of load: floods driven by brownout's own load generator against the target."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.faults.common import FaultBase
from brownout.spec.units import Duration

__all__ = ["LoadKvCacheFlood"]


class LoadKvCacheFlood(FaultBase):
    """Fill the target's KV cache with bursts of long-context requests, so normal requests queue or fail.

    A separate load process sends them for the fault window; rollback stops it.
    """

    kind: Literal["load.kv-cache-flood"]
    context_tokens: int = Field(..., ge=16, le=10_000_000, description="The target's context limit, in tokens.")
    fill: float = Field(0.95, gt=0, le=1, description="Share of the context each flood request uses (prompt plus output).")
    output_tokens: int = Field(16, ge=1, description="max_tokens of each flood request (decoding keeps its KV held).")
    burst_size: int = Field(8, ge=1, le=10000, description="Flood requests sent together in each burst.")
    burst_every: Duration = Field(1.0, description="Time from one burst to the next.")
    max_in_flight: int = Field(32, ge=1, le=100000, description="Concurrency cap on flood requests; bursts over it are dropped.")
    timeout: Duration = Field(120.0, description="Per-request timeout of flood requests.")
    model: str | None = Field(None, description="Model to ask for; the first of the target's /v1/models when absent.")
    max_duration: Duration = Field(
        3600.0, description="Safety rail: the flood process stops by itself after this long even if never rolled back."
    )

    @model_validator(mode="after")
    def _sane(self) -> "LoadKvCacheFlood":
        if self.burst_every <= 0:
            raise ValueError("burst_every must be longer than 0s")
        if int(self.fill * self.context_tokens) <= self.output_tokens:
            raise ValueError("fill * context_tokens leaves no room for a prompt after output_tokens")
        return self
