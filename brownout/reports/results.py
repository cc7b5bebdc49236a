"""The results document of one run (`brownout.results/v1`) and how it is built.

`build_results` is the single entry point the runner calls after rollback: it
scores the records and probe runs against the spec and returns a `RunResults`
that every output (JSON, JUnit, Markdown, HTML) is rendered from.
"""

from __future__ import annotations

import platform
import socket
import sys
from collections.abc import Iterable
from importlib import metadata
from typing import Any, Literal

import pandas as pd
from pydantic import ConfigDict, Field

from brownout.exit_codes import EXIT_CODES
from brownout.spec.experiment import Experiment
from brownout.rundata.timeline import Timeline
from brownout.rundata.gauges import Sample
from brownout.rundata.probes import ProbeResult
from brownout.reports.metrics import failover_time, probe_frame, probe_summaries, request_frame, time_to_recover
from brownout.reports.metrics.failures import arrival_counts, drop_reasons
from brownout.reports.metrics.gauges import gauge_series
from brownout.reports.metrics.sessions import session_fates, sessions_summary
from brownout.reports.metrics.workflows import workflow_fates, workflows_summary
from brownout.reports.models import (
    Arrivals,
    BucketMetrics,
    FailoverResult,
    GaugeSeries,
    HarnessCheck,
    ObjectiveResult,
    ProbeSummary,
    RecoveryResult,
    ResultModel,
    ScoreComponent,
    SessionsSummary,
    WindowMetrics,
    WorkflowsSummary,
)
from brownout.reports.impact import FaultImpact, fault_impacts
from brownout.reports.score import resilience_score
from brownout.reports.scoring import bucket_series, definitions, effective_scoring, phase_metrics, window_metrics
from brownout.reports.selfcheck import judge_harness, untrusted
from brownout.reports.slo import evaluate_slos, evaluate_steady_state, steady_state_held, steady_state_windows
from brownout.reports.window import Window, in_window, phase_windows
from brownout.rundata.harness import HarnessObservations
from brownout.rundata.run import InputFile

__all__ = [
    "EXIT_CODES",
    "SCHEMA_VERSION",
    "SCORED_VERDICTS",
    "Environment",
    "RunResults",
    "RunStatus",
    "Verdict",
    "build_results",
    "collect_environment",
]

SCHEMA_VERSION = "brownout.results/v1"
RunStatus = Literal["passed", "aborted", "not_steady", "error", "interrupted"]
"""How the run ended, from the runner: `passed` means it ran to the end and scoring decides."""
Verdict = Literal["passed", "failed", "inconclusive", "aborted", "not_steady", "error", "interrupted"]
"""`inconclusive`: ran to the end, and every unmet objective is one a saturated harness could not judge."""
SCORED_VERDICTS = frozenset({"passed", "failed"})
"""Only a run judged on trustworthy figures has a score: the others tell their story by their verdict alone."""

_PACKAGES = ("locust", "pandas", "pydantic", "httpx", "aiohttp", "kubernetes", "jinja2", "toxiproxy-python")


class Environment(ResultModel):
    """Where and with what the run happened; the runner may add keys (target, base URL, run id)."""

    model_config = ConfigDict(extra="allow")

    brownout: str
    python: str
    platform: str
    host: str
    workers: int
    packages: dict[str, str | None] = Field(default_factory=dict)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect_environment(workers: int) -> Environment:
    """Versions of brownout, Python and key libraries, the host name and the load worker count."""
    return Environment(
        brownout=_version("brownout"),
        python=sys.version.split()[0],
        platform=platform.platform(),
        host=socket.gethostname(),
        workers=workers,
        packages={name: _version(name) for name in _PACKAGES},
    )


class RunResults(ResultModel):
    """Everything a report shows, in one JSON-round-trippable document."""

    schema_version: Literal["brownout.results/v1"] = SCHEMA_VERSION
    experiment: str
    description: str = ""
    spec: dict[str, Any] = Field(description="The experiment as run (secrets excluded by the caller).")
    verdict: Verdict
    exit_code: int
    message: str = Field("", description="Why the run ended as it did, when it did not run to the end.")
    score: float | None = Field(description="Resilience score 0..100; None when the verdict is not scored "
                                "(SCORED_VERDICTS) or no part applies.")
    score_components: list[ScoreComponent] = Field(description="The score's parts; empty when the verdict is not scored.")
    slos: list[ObjectiveResult]
    steady_state: list[ObjectiveResult]
    steady_state_held: bool
    harness: HarnessCheck = Field(default_factory=lambda: HarnessCheck(saturated=False),
                                  description="The harness self-check; saturated makes latency objectives inconclusive.")
    phases: dict[str, WindowMetrics]
    arrivals: Arrivals | None = Field(None, description="Open-loop arrivals: scheduled = sent + dropped (none in closed loop).")
    buckets: list[BucketMetrics]
    bucket_width: float
    gauges: list[GaugeSeries] = Field(default_factory=list, description="Sampled infrastructure gauges (metrics.jsonl), "
                                      "highest sample per bucket.")
    recovery: RecoveryResult
    impacts: list[FaultImpact] = Field(default_factory=list, description="Each fault window's cost to users and "
                                       "when the service was back (`reports.impact`).")
    failovers: list[FailoverResult]
    timeline: Timeline
    probes: list[ProbeSummary]
    sessions: SessionsSummary | None = Field(None, description="Multi-turn sessions by fate, and where faults broke them.")
    workflows: WorkflowsSummary | None = Field(None, description="Tool-calling workflows by fate.")
    probe_series: list[ProbeResult]
    environment: Environment
    definitions: dict[str, str] = Field(description="Formula of every metric shown.")
    records_paths: list[str] = Field(default_factory=list, description="Raw request-record files (JSON lines).")
    inputs: list[InputFile] = Field(default_factory=list,
                                    description="Every fragment and data file the experiment read: sha256 and the copy kept.")
    outputs: dict[str, str] = Field(default_factory=dict, description="Output kind -> path written.")

    def comparable_score(self) -> float | None:
        """The score to chart or compare: None for a verdict that is not scored, even in a file written
        before that rule, which may carry one."""
        return self.score if self.verdict in SCORED_VERDICTS else None


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A frame row as plain Python values, NaN as None."""
    return {k: None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def _verdict(status: RunStatus, objectives: list[ObjectiveResult]) -> Verdict:
    """The runner's status, or for a run that ran to the end: passed, inconclusive (only the harness stood
    in the way) or failed."""
    if status != "passed":
        return status
    unmet = [r for r in objectives if not r.passed]
    if not unmet:
        return "passed"
    return "inconclusive" if all(r.inconclusive_reason == "harness" for r in unmet) else "failed"


def build_results(
    spec: Experiment,
    spec_document: dict[str, Any],
    records_df: pd.DataFrame | None,
    probes: pd.DataFrame | Iterable[ProbeResult] | None,
    timeline: Timeline,
    *,
    status: RunStatus = "passed",
    environment: Environment | dict[str, Any],
    message: str = "",
    steady_state: list[ObjectiveResult] | None = None,
    records_paths: Iterable[str] = (),
    inputs: Iterable[InputFile] = (),
    exit_code: int | None = None,
    harness: HarnessObservations | None = None,
    gauges: Iterable[Sample] = (),
) -> RunResults:
    """Score a finished (or aborted) run.

    `status` is how the run ended; `passed` (ran to the end) lets scoring decide:
    the verdict is `passed` iff every SLO passes and the steady state held;
    `inconclusive` when every unmet one is a latency objective the saturated
    harness could not judge; else `failed`. Any other status is the verdict as
    is. `steady_state` takes the results the runner evaluated live; without them
    they are evaluated here over the same windows (`steady_state_windows`).
    `harness` is what the runner measured of its own health (`judge_harness`); `gauges` the sampled
    infrastructure metrics, charted per bucket.
    Only `passed` and `failed` runs get a score.
    """
    records = request_frame(records_df)
    runs = probe_frame(probes)
    probe_names = sorted({p.name for p in spec.probes} | set(runs["probe"].astype(str)))
    scoring = effective_scoring(spec)
    phases = phase_metrics(records, runs, timeline, scoring, probe_names)
    recovery = time_to_recover(records, timeline, scoring, scoring.watch_for(spec.load.stream), runs)
    failovers = failover_time(records, timeline)
    scored = phase_windows(timeline).get("run")    # warmup is there to absorb start-up: its late sends judge nothing
    check = judge_harness(harness, records if scored is None else in_window(records, scored), scoring.self_check)
    slos = [untrusted(r, check) for r in evaluate_slos(spec, phases, recovery, failovers)]
    if steady_state is None:
        steady_state = [
            result
            for window in steady_state_windows(spec, timeline)
            for result in evaluate_steady_state(spec, records, runs, window.start, window.end, label=window.name)
        ]
    steady_state = [untrusted(r, check) for r in steady_state]
    verdict = _verdict(status, [*slos, *steady_state])
    score, components = (resilience_score([*slos, *steady_state], phases, recovery, scoring,
                                          harness_saturated=check.saturated)
                         if verdict in SCORED_VERDICTS else (None, []))
    scheduled, sent, dropped, unsent = arrival_counts(records)
    buckets = bucket_series(records, timeline, scoring, runs)
    impacts = fault_impacts(spec, records, timeline, scoring, phases.get("baseline"), buckets,
                            lambda frame, window: window_metrics(frame, runs, window, scoring, probe_names))
    return RunResults(
        arrivals=Arrivals(scheduled=scheduled, sent=sent, dropped=dropped, abandoned_unsent=unsent,
                          drop_reasons=drop_reasons(records)) if scheduled else None,
        experiment=spec.metadata.name,
        description=spec.metadata.description,
        spec=spec_document,
        verdict=verdict,
        exit_code=EXIT_CODES[verdict] if exit_code is None else exit_code,
        message=message,
        score=score,
        score_components=components,
        slos=slos,
        steady_state=steady_state,
        steady_state_held=steady_state_held(steady_state),
        harness=check,
        phases=phases,
        buckets=buckets,
        bucket_width=scoring.bucket,
        gauges=gauge_series(gauges, [Window(f"bucket{i}", b.start, b.end) for i, b in enumerate(buckets)]),
        recovery=recovery,
        impacts=impacts,
        failovers=failovers,
        timeline=timeline,
        probes=probe_summaries(runs),
        sessions=sessions_summary(session_fates(records), phase_windows(timeline)),
        workflows=workflows_summary(workflow_fates(records)),
        probe_series=[ProbeResult(**_plain(row)) for row in runs.sort_values("t").to_dict("records")],
        environment=environment if isinstance(environment, Environment) else Environment.model_validate(environment),
        definitions=definitions(),
        records_paths=list(records_paths),
        inputs=list(inputs),
    )
