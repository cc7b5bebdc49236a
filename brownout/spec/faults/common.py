"""What every fault shares: a name, a schedule, and how targets are picked."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.base import Name, StrictModel
from brownout.spec.units import Duration

__all__ = ["FaultBase", "Schedule", "Selection"]


class Schedule(StrictModel):
    """When a fault is active, relative to the start of the fault phase."""

    start: Duration = Field(0.0, description="Offset from the start of the fault phase.")
    duration: Duration | None = Field(
        None, description="How long the fault stays injected; until the end of the fault phase when absent."
    )
    repeat_every: Duration | None = Field(None, description="Inject again every this long (start to start).")
    jitter: Duration = Field(0.0, description="Random delay added to each repetition (seeded).")

    @model_validator(mode="after")
    def _repeat_after_duration(self) -> "Schedule":
        if self.duration is not None and self.duration <= 0:
            raise ValueError("duration must be longer than 0: a fault injected for no time is rolled back at once "
                             "(leave duration out to run until the end of the fault phase)")
        if self.repeat_every is not None and self.repeat_every <= 0:
            raise ValueError("repeat_every must be longer than 0")
        if self.repeat_every is not None:
            if self.duration is None:
                raise ValueError("repeat_every needs a duration, or the fault never ends before it repeats")
            if self.repeat_every <= self.duration + self.jitter:
                raise ValueError(
                    "repeat_every must be longer than duration + jitter, or a repetition could start before the last one ended"
                )
        return self


class Selection(StrictModel):
    """How many of the resolved targets a fault hits; random picks use the experiment seed."""

    mode: Literal["one", "count", "percent", "all"] = Field("one", description="How to pick.")
    count: int | None = Field(None, ge=1, description="With mode 'count'.")
    percent: float | None = Field(None, gt=0, le=100, description="With mode 'percent'.")
    max_share: float = Field(
        0.5, gt=0, le=1, description="Safety rail: refuse when the pick would hit more than this share of all targets."
    )

    @model_validator(mode="after")
    def _mode_args(self) -> "Selection":
        if self.mode == "count" and self.count is None:
            raise ValueError("mode 'count' needs count")
        if self.mode == "percent" and self.percent is None:
            raise ValueError("mode 'percent' needs percent")
        return self


class FaultBase(StrictModel):
    name: Name = Field(..., description="Unique fault name, used in the journal and the report.")
    schedule: Schedule = Field(default_factory=Schedule, description="When the fault is active.")
    region_outage: Name | None = Field(
        None,
        description="The region this fault takes down (e.g. a scale-down in that region's context, a cordon of its "
        "zone, its proxy disabled): failover and failback times are scored for it. Implied by sandbox.region-down.",
    )
