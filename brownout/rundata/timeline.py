"""What happened when: phases, fault windows and events of one run.

The runner fills it; scoring and reports read it. Times are run-clock seconds
(epoch seconds with monotonic precision, see `brownout.rundata.records.RunClock`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["FAULT_DRIFT_WARNING", "EventKind", "FaultWindow", "PhaseName", "PhaseWindow", "Timeline", "TimelineEvent"]

FAULT_DRIFT_WARNING = 0.25
"""Seconds a fault may go in or come out off its planned time before the console and report warn."""

PhaseName = Literal["warmup", "baseline", "fault", "recovery"]
EventKind = Literal[
    "phase_started",
    "fault_injected",
    "fault_inject_failed",
    "fault_rolled_back",
    "fault_rollback_failed",
    "fault_recovered",     # the workload reported ready again after rollback
    "region_down",
    "region_up",
    "guard_fired",
    "steady_state",
    "fault_late",          # injected or rolled back more than FAULT_DRIFT_WARNING after its planned time
    "load_worker_lost",    # the load master stopped hearing from a worker: a harness failure, its share unscored
    "note",
]


@dataclass
class PhaseWindow:
    name: PhaseName
    start: float
    end: float


@dataclass
class TimelineEvent:
    t: float
    kind: EventKind
    name: str                       # fault, guard or phase name
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class FaultWindow:
    """One injection of one fault (a repeating fault has several windows)."""

    fault: str
    kind: str
    injected_at: float | None
    rolled_back_at: float | None = None
    planned_inject_at: float | None = None     # the schedule's times: drift = actual - planned
    planned_rollback_at: float | None = None
    recovered_at: float | None = None      # ready again, when the fault kind can tell
    region: str | None = None              # for region faults: failover/failback scoring
    targets: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None               # inject or rollback failure text


@dataclass
class Timeline:
    run_start: float
    run_end: float | None = None
    phases: list[PhaseWindow] = field(default_factory=list)
    faults: list[FaultWindow] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)

    def phase(self, name: str) -> PhaseWindow | None:
        return next((p for p in self.phases if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Timeline":
        return cls(
            run_start=raw["run_start"],
            run_end=raw.get("run_end"),
            phases=[PhaseWindow(**p) for p in raw.get("phases", [])],
            faults=[FaultWindow(**f) for f in raw.get("faults", [])],
            events=[TimelineEvent(**e) for e in raw.get("events", [])],
        )
