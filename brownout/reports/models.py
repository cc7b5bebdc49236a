"""Typed pieces of a run's results: window metrics, objective results, score parts.

Values are seconds, ratios or per-second rates as each metric's docstring says.
`None` always means "no data" (inconclusive), never 0; `inf` is a real value
(an adjusted percentile that lands on a failed request, a fault never recovered
from). JSON writes inf as the string "Infinity" so files stay strict JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Arrivals",
    "BucketMetrics",
    "FailoverResult",
    "HarnessCheck",
    "HarnessObservations",
    "LatencyStats",
    "ObjectiveResult",
    "ProbeSummary",
    "RecoveryResult",
    "ResultModel",
    "ScoreComponent",
    "WindowMetrics",
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
    errors_by_class: dict[str, int] = Field(default_factory=dict, description="Failed requests by error class, most first.")
    errors_by_status: dict[str, int] = Field(default_factory=dict, description="Failed requests by HTTP status, most first.")
    usage_mismatches: int = Field(0, description="Requests whose server usage disagreed with the stream (set aside).")
    token_sources: dict[str, int] = Field(default_factory=dict, description="Answered requests by the source of their "
                                          "token counts (usage, tokenizer, chunks, none): what output_tokens_per_s rests on.")
    anomalies: int = Field(0, description="Requests with a protocol anomaly that did not fail them (bytes after [DONE]).")


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


class HarnessObservations(ResultModel):
    """What the runner measured of the harness's own health over the load (None: not measured here).

    The schedule lag is not here: scoring takes it from the records.
    """

    load_cpu_share: Value = Field(None, description="Busiest load process: CPU seconds / wall seconds (1 = one core).")
    loop_lag_p99: Value = Field(None, description="p99 of the load process's event-loop wake-up lag, seconds.")
    loop_lag_max: Value = Field(None, description="Largest event-loop wake-up lag, seconds.")
    cpu_pressure: Value = Field(None, description="Share of the run in which runnable tasks waited for a CPU (PSI cpu some).")
    steal: Value = Field(None, description="Share of the machine's CPU time taken by the hypervisor.")
    load_per_core: Value = Field(None, description="1-minute load average at the end of the load, per core (context only).")
    cores: int | None = None


class HarnessCheck(ResultModel):
    """The harness self-check: whether the run's latency figures can be trusted (limits: scoring.self_check)."""

    saturated: bool
    enabled: bool = Field(True, description="False: scoring.self_check is off, nothing was judged.")
    reasons: list[str] = Field(default_factory=list, description="One line per limit exceeded, with value and limit.")
    schedule_lag_p99: Value = None
    observations: HarnessObservations = Field(default_factory=HarnessObservations)
    limits: dict[str, float] = Field(default_factory=dict)
