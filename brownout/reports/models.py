"""Typed pieces of a run's results: window metrics, objective results, score parts.

Values are seconds, ratios or per-second rates as each metric's docstring says.
`None` always means "no data" (inconclusive), never 0; `inf` is a real value
(an adjusted percentile that lands on a failed request, a fault never recovered
from). JSON writes inf as the string "Infinity" so files stay strict JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from brownout.rundata.harness import HarnessObservations

__all__ = [
    "Arrivals",
    "BrokenSessions",
    "BucketMetrics",
    "FailoverResult",
    "GaugeSeries",
    "HarnessCheck",
    "LatencyStats",
    "ObjectiveResult",
    "ProbeSummary",
    "RecoveryResult",
    "ResultModel",
    "ScoreComponent",
    "SessionsSummary",
    "WindowMetrics",
    "WorkflowsSummary",
]

Value = float | None


class ResultModel(BaseModel):
    """Strict, immutable, and inf-safe in JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="strings")


class LatencyStats(ResultModel):
    """Statistics of one latency metric in one window; `n` is the sample size."""

    n: int
    p50: Value = None
    p90: Value = None
    p95: Value = None
    p99: Value = None
    mean: Value = None
    max: Value = None


class WindowMetrics(ResultModel):
    """Every window metric of one phase (baseline, fault, recovery or run)."""

    window: str
    start: float
    end: float
    requests: int = Field(description="Judged requests: every one but the abandoned.")
    abandoned: int = Field(0, description="Requests the harness gave up on (drain expired, stop, interrupt): in no metric.")
    ok: int
    degraded: int
    errors: int
    throttled: int
    success_rate: Value
    degraded_rate: Value
    error_rate: Value
    throttle_rate: Value
    error_budget_burn: Value
    requests_per_s: Value
    output_tokens_per_s: Value
    goodput: Value
    token_goodput: Value
    latency: dict[str, LatencyStats] = Field(description="Plain: over ok and degraded requests.")
    latency_adjusted: dict[str, LatencyStats] = Field(description="Failed requests count as +inf.")
    probe_success_rate: dict[str, Value] = Field(default_factory=dict)
    accuracy: Value = Field(None, description="Correct / judged answers: golden-set probe runs and checked load requests.")
    accuracy_budget_burn: Value = Field(None, description="Wrong answers / (scoring.accuracy_budget * judged answers).")
    accuracy_by_probe: dict[str, Value] = Field(default_factory=dict, description="accuracy of each golden probe alone.")
    golden_answers: int = Field(0, description="Golden-set probe runs that got an answer to judge.")
    checked_requests: int = Field(0, description="Load requests whose answer was judged by their dataset item's checks.")
    wrong_answers: int = Field(0, description="Judged answers (both sources) that failed a check.")
    errors_by_class: dict[str, int] = Field(default_factory=dict, description="Failed requests by error class, most first.")
    errors_by_status: dict[str, int] = Field(default_factory=dict, description="Failed requests by HTTP status, most first.")
    usage_mismatches: int = Field(0, description="Requests whose server usage disagreed with the stream (set aside).")
    token_sources: dict[str, int] = Field(default_factory=dict, description="Answered requests by the source of their "
                                          "token counts (usage, tokenizer, chunks, none): what output_tokens_per_s rests on.")
    anomalies: int = Field(0, description="Requests with a protocol anomaly that did not fail them (bytes after [DONE]).")
    sessions: int = Field(0, description="Multi-turn sessions started in the window and judged (survived or broken).")
    sessions_broken: int = Field(0, description="Of those, sessions a failed turn ended.")
    sessions_unfinished: int = Field(0, description="Sessions started in the window that the harness ended: in no rate.")
    session_survival_rate: Value = Field(None, description="Survived / judged sessions started in the window.")
    ttft_by_turn: dict[str, LatencyStats] = Field(default_factory=dict, description="TTFT of answered session turns "
                                                  "anchored in the window, by turn number.")
    workflows: int = Field(0, description="Tool-calling workflows started in the window and judged.")
    workflows_unfinished: int = Field(0, description="Workflows started in the window that the harness ended: in no rate.")
    workflow_success_rate: Value = Field(None, description="Completed / judged workflows started in the window.")
    workflow_steps: LatencyStats = Field(default_factory=lambda: LatencyStats(n=0), description="Steps per judged workflow.")
    workflow_e2e: LatencyStats = Field(default_factory=lambda: LatencyStats(n=0),
                                       description="First send to last byte of completed workflows, seconds.")


class BrokenSessions(ResultModel):
    """Sessions a fault broke, grouped by the phase they started in, the turn that failed and its error class."""

    phase: str
    turn: int
    error_class: str
    sessions: int
    turns: int = Field(description="Turns those sessions were to have (the most, if they differ).")
    example: str = Field("", description="The error text of one of them.")
    regions: list[str] = Field(default_factory=list, description="Regions that served the failed turn, when known.")


class SessionsSummary(ResultModel):
    """The run's multi-turn sessions: how many survived, broke or were ended by the harness, and where they broke."""

    sessions: int
    survived: int
    broken: int
    unfinished: int
    broken_by: list[BrokenSessions] = Field(default_factory=list, description="Most sessions first.")


class WorkflowsSummary(ResultModel):
    """The run's tool-calling workflows by fate, and the failed ones by error class (`step_limit` for the limit)."""

    workflows: int
    completed: int
    failed: int
    step_limit: int
    unfinished: int
    failed_by: dict[str, int] = Field(default_factory=dict, description="Failed workflows by error class, most first.")


class Arrivals(ResultModel):
    """The open-loop arrivals of the run: every one ends as exactly one record, so scheduled = sent + dropped."""

    scheduled: int
    sent: int = Field(description="Dispatched to a request (including those the harness abandoned before sending).")
    dropped: int = Field(description="Never sent on time because of the harness's own limits; never a target error.")
    drop_reasons: dict[str, int] = Field(default_factory=dict, description=(
        "Dropped arrivals by whose limit: `in_flight_cap` (load.max_in_flight full of sent requests) or "
        "`load_backlog` (the load generator fell behind its own schedule)."))
    abandoned_unsent: int = Field(0, description="Dispatched, but abandoned (drain, stop) before the request went out.")


class BucketMetrics(ResultModel):
    """The few metrics the timeline charts draw, for one time bucket."""

    start: float
    end: float
    requests: int = Field(description="Judged requests: every one but the abandoned.")
    abandoned: int = Field(0, description="Requests the harness gave up on: in no metric.")
    success_rate: Value
    degraded_rate: Value
    error_rate: Value
    throttle_rate: Value
    requests_per_s: Value
    output_tokens_per_s: Value
    goodput: Value
    ttft_p50: Value
    ttft_p95: Value
    ttft_p95_adjusted: Value
    accuracy: Value = None
    latency: dict[str, dict[str, Value]] = Field(
        default_factory=dict, description="Metric (ttft, itl, e2e) -> p50/p95/p99 in seconds; a metric with no sample is absent.")
    errors_by_class: dict[str, int] = Field(default_factory=dict, description="Failed requests by error class, most first.")
    regions: dict[str, int] = Field(default_factory=dict, description="Answered requests by the region that served them.")


class GaugeSeries(ResultModel):
    """One sampled gauge (metrics.jsonl) from one source, its highest sample per time bucket (aligned with buckets)."""

    metric: str
    source: str = Field(description="Endpoint, with the series' labels when it has any.")
    values: list[Value]


class RecoveryResult(ResultModel):
    """time_to_recover: `value` is seconds, inf when never recovered, None when it cannot be judged (inconclusive)."""

    status: Literal["recovered", "never", "inconclusive"]
    value: Value
    since: Value = Field(None, description="Last rollback (or the fault phase's end), run clock.")
    recovered_at: Value = Field(
        None, description="Start of the first judged bucket of the first stretch within tolerance for the whole hold."
    )
    baseline: dict[str, Value] = Field(default_factory=dict)
    watch: list[str] = Field(default_factory=list)
    hold: Value = Field(None, description="Seconds (whole buckets) every watched metric must stay within tolerance.")
    tolerance: str = Field("", description="The tolerance each watched metric was judged with, in words.")
    reason: str = ""


class FailoverResult(ResultModel):
    """failover_time of one region fault: `value` is seconds, inf when no other region ever served,
    None when it cannot be judged (inconclusive: never injected, or no record says who served)."""

    fault: str
    region: str
    status: Literal["failed_over", "seamless", "never", "inconclusive"]
    value: Value
    injected_at: Value = None
    first_failure_at: Value = None
    served_elsewhere_at: Value = None
    reason: str = ""
    failback: Value = None            # seconds from the region's return to its first served request; inf: never
    served_home_at: Value = None


class ObjectiveResult(ResultModel):
    """One SLO or steady-state check, evaluated."""

    name: str
    label: str
    kind: Literal["slo", "steady_state"]
    phase: str
    metric: str
    actual: Value
    op: str
    threshold: float
    margin: Value = Field(None, description="Signed room to the threshold; > 0 passes. See margin_unit.")
    margin_unit: Literal["relative", "absolute"] = "relative"
    status: Literal["pass", "fail", "inconclusive"]
    inconclusive_reason: Literal["no_data", "harness"] | None = Field(
        None, description="Why inconclusive: no data in the window, or a latency figure of a saturated harness (see `harness`)."
    )
    passed: bool = Field(description="Counts as passing the gate (inconclusive for no data passes only when the SLO says so).")
    severity: Literal["critical", "major", "minor"] = "major"
    message: str = ""

    def summary(self) -> str:
        """One line for logs and journals: `name [phase]: actual X vs threshold op Y -> pass`."""
        return f"{self.name} [{self.phase}]: {self.message} -> {self.status}"


class ScoreComponent(ResultModel):
    """One part of the resilience score: `value` 0..1 (None = not applicable, its weight is shared out)."""

    name: str
    weight: float
    value: Value
    points: float = Field(description="Contribution to the 0..100 score after re-weighting.")
    explanation: str


class ProbeSummary(ResultModel):
    probe: str
    kind: str
    runs: int
    ok: int
    success_rate: Value
    latency_p95: Value
    last_failure: str | None = None


class HarnessCheck(ResultModel):
    """The harness self-check: whether the run's latency figures can be trusted (limits: scoring.self_check)."""

    saturated: bool
    enabled: bool = Field(True, description="False: scoring.self_check is off, nothing was judged.")
    reasons: list[str] = Field(default_factory=list, description="One line per limit exceeded, with value and limit.")
    schedule_lag_p99: Value = None
    observations: HarnessObservations = Field(default_factory=HarnessObservations)
    limits: dict[str, float] = Field(default_factory=dict)
