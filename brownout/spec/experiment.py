"""The top-level experiment document (`apiVersion: brownout/v1`, `kind: Experiment`)."""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.base import Name, StrictModel
from brownout.spec.faults import DeclaredProxy, Fault
from brownout.spec.guards import Guard, ProbeFailuresGuard
from brownout.spec.load import Load
from brownout.spec.metrics import MetricsSampling
from brownout.spec.objectives import SLO, OutcomeRules, Scoring, SteadyState
from brownout.spec.probes import Probe
from brownout.spec.target import Target
from brownout.spec.units import Duration

__all__ = ["API_VERSION", "Experiment", "Metadata", "Phases", "RollbackPolicy"]

API_VERSION = "brownout/v1"
MAX_BUCKETS = 100_000
"""Time buckets per run: timelines and recovery detection hold one row per bucket."""


class Metadata(StrictModel):
    name: Name = Field(..., description="Experiment name; results and reports are filed under it.")
    description: str = Field("", description="What the experiment shows, for the report's reader.")
    owner: str | None = Field(None, description="Team or person to ask about it.")
    labels: dict[str, str] = Field(default_factory=dict, description="Free-form labels copied to results.")


class Phases(StrictModel):
    """Durations of the run's phases, in order: warmup, baseline, fault, recovery."""

    warmup: Duration = Field(2.0, description="Load runs but is not scored (caches, connections).")
    baseline: Duration = Field(..., description="Steady state measured before any fault.")
    fault: Duration = Field(..., description="Faults are injected on their schedules within this phase.")
    recovery: Duration = Field(..., description="After rollback: does the service return to baseline?")

    @model_validator(mode="after")
    def _positive(self) -> "Phases":
        for name in ("baseline", "fault", "recovery"):
            if getattr(self, name) <= 0:
                raise ValueError(f"phase '{name}' must be longer than 0")
        return self

    @property
    def total(self) -> float:
        return self.warmup + self.baseline + self.fault + self.recovery


class RollbackPolicy(StrictModel):
    """How faults are undone. Rollback itself is not optional: every fault is undone at the end
    of its schedule and on any exit (error, stop condition, SIGINT/SIGTERM); after a SIGKILL,
    `brownout recover` or the next run undoes what the journal still shows applied."""

    retries: int = Field(3, ge=0, le=20, description="Extra attempts of a failed undo step.")
    backoff: Duration = Field(1.0, description="Wait between attempts (doubles each time).")
    wait_ready: bool = Field(True, description="After rollback, wait for the target to report ready and record the time.")


class Experiment(StrictModel):
    """A declarative chaos experiment against an AI inference system."""

    apiVersion: Literal["brownout/v1"] = Field(..., description="Spec version; 'brownout/v1'.")
    kind: Literal["Experiment"] = Field(..., description="Always 'Experiment'.")
    metadata: Metadata
    target: Target
    load: Load
    probes: list[Probe] = Field(default_factory=list, description="Synthetic probes run during the whole run.")
    faults: list[Fault] = Field(default_factory=list, description="Faults injected during the fault phase.")
    proxies: list[DeclaredProxy] = Field(
        default_factory=list,
        description="Toxiproxy proxies the run creates before the load starts (on TOXIPROXY_URL, else the embedded "
        "proxy) and deletes after it; network faults name them in `proxy`. Point the gateway at their listen ports once.",
    )
    phases: Phases
    slos: list[SLO] = Field(default_factory=list, description="Objectives that decide the verdict.")
    steady_state: SteadyState = Field(default_factory=SteadyState, description="Checked before any fault and after recovery.")
    stop_conditions: list[Guard] = Field(default_factory=list, description="Guards that abort the run and roll back.")
    outcome: OutcomeRules = Field(default_factory=OutcomeRules, description="What counts as a degraded response.")
    scoring: Scoring = Field(default_factory=Scoring, description="Buckets, recovery detection, error budget, goodput.")
    rollback: RollbackPolicy = Field(default_factory=RollbackPolicy, description="Retries of undo steps.")
    metrics: MetricsSampling | None = Field(
        None,
        description="Infrastructure metrics (GPU memory, KV-cache usage, queue depth) to record before, during and "
        "after faults. On the sandbox, every LLM replica's /metrics is recorded when this is absent.",
    )

    @model_validator(mode="after")
    def _cross_references(self) -> "Experiment":
        for what, names in (
            ("probe", [p.name for p in self.probes]),
            ("fault", [f.name for f in self.faults]),
            ("proxy", [p.name for p in self.proxies]),
            ("SLO", [s.name for s in self.slos]),
            ("stop condition", [g.name for g in self.stop_conditions]),
        ):
            dupes = sorted(n for n, c in Counter(names).items() if c > 1)
            if dupes:
                raise ValueError(f"{what} names must be unique; repeated: {', '.join(dupes)}")
        probe_names = {p.name for p in self.probes}
        referenced = list(self.steady_state.probes)
        referenced += [g.probe for g in self.stop_conditions if isinstance(g, ProbeFailuresGuard)]
        referenced += [s.probe for s in [*self.slos, *self.steady_state.checks] if s.probe]
        missing = sorted({n for n in referenced if n not in probe_names})
        if missing:
            raise ValueError(f"unknown probe(s) referenced: {', '.join(missing)}; defined: {', '.join(sorted(probe_names)) or 'none'}")
        sandbox = self.target.sandbox
        if sandbox is not None and not sandbox.attach:  # an attached sandbox's regions are known only at run time
            for fault in self.faults:
                for key in ("region", "region_outage"):
                    region = getattr(fault, key, None)
                    if region is not None and region not in sandbox.regions:
                        raise ValueError(f"fault '{fault.name}' names {key} '{region}', which is not in the sandbox "
                                         f"(target.sandbox.regions: {', '.join(sandbox.regions)})")
        buckets = self.phases.total / self.scoring.bucket
        if buckets > MAX_BUCKETS:
            raise ValueError(f"scoring.bucket {self.scoring.bucket:g}s cuts the {self.phases.total:g}s run into {buckets:.0f} "
                             f"buckets, over {MAX_BUCKETS}: use a wider bucket")
        for fault in self.faults:
            sched = fault.schedule
            if sched.start >= self.phases.fault:
                raise ValueError(f"fault '{fault.name}' starts at {sched.start:g}s, after the {self.phases.fault:g}s fault phase ends")
            if sched.duration is not None and sched.start + sched.duration > self.phases.fault + 1e-9:
                raise ValueError(
                    f"fault '{fault.name}' runs until {sched.start + sched.duration:g}s, past the {self.phases.fault:g}s fault phase"
                )
        return self

    def commands(self) -> list[tuple[str, str, str]]:
        """(fault, step, command line) of every command this file can run: `validate` and dry runs print them
        all, because an experiment file that runs commands is a script and should be read as one."""
        out = []
        for fault in self.faults:
            steps = fault.steps() if fault.kind == "command" else [("restart", getattr(fault, "restart", None))]
            out += [(fault.name, name, step.display()) for name, step in steps if step is not None]
        return out

    @property
    def primary_model(self) -> str:
        return self.outcome.primary_model or self.target.model
