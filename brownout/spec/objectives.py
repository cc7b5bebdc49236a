"""SLOs, steady-state checks, request outcome rules and scoring settings.

Metric names are a closed vocabulary (`MetricName`) so a typo is a validation
error, not an SLO that silently never has data. Formulas: ../shared/metrics.md
and `brownout.reports.scoring`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, WithJsonSchema, field_validator, model_validator

from brownout.spec.base import Name, StrictModel
from brownout.spec.units import FROM_FILE, Duration, parse_duration

__all__ = [
    "LATENCY_METRICS",
    "SHARE_METRICS",
    "WORKFLOW_STAT_METRICS",
    "GoodputCriteria",
    "MetricName",
    "Objective",
    "OutcomeRules",
    "RECOVERY_WATCH_METRICS",
    "SLO",
    "Scoring",
    "SelfCheckLimits",
    "ServedBy",
    "SteadyState",
    "SteadyStateCheck",
]

MetricName = Literal[
    "success_rate", "degraded_rate", "error_rate", "throttle_rate",
    "ttft", "ttft_from_schedule", "itl", "tpot", "e2e", "schedule_lag",
    "output_tokens_per_s", "requests_per_s", "goodput", "token_goodput",
    "time_to_recover", "failover_time", "failback_time", "error_budget_burn", "probe_success_rate",
    "accuracy", "accuracy_budget_burn",
    "session_survival_rate", "workflow_success_rate", "workflow_steps", "workflow_e2e",
]
LATENCY_METRICS = frozenset({"ttft", "ttft_from_schedule", "itl", "tpot", "e2e", "schedule_lag"})
WORKFLOW_STAT_METRICS = frozenset({"workflow_steps", "workflow_e2e"})
"""Per-workflow distributions: like latency metrics they take a stat (never `adjusted`)."""
Stat = Literal["p50", "p90", "p95", "p99", "mean", "max"]
_STATS = ("p50", "p90", "p95", "p99", "mean", "max")
RECOVERY_WATCH_METRICS = frozenset(
    {"success_rate", "degraded_rate", "error_rate", "output_tokens_per_s", "requests_per_s", "accuracy"}
    | {f"{metric}_{stat}" for metric in LATENCY_METRICS for stat in _STATS}
)
"""What `scoring.recovery_watch` may name: outcome rates, throughputs and `<latency metric>_<stat>` (e.g. `e2e_p99`)."""
DURATION_METRICS = LATENCY_METRICS | {"time_to_recover", "failover_time", "failback_time"}
"""Metrics in seconds: a file spells their thresholds with a unit (`2s`, `1500ms`)."""
Op = Literal["<", "<=", ">", ">="]
_PERCENT = re.compile(r"^([0-9]{1,20}(?:\.[0-9]{1,30})?)[ \t]*%$")
SHARE_METRICS = frozenset({"success_rate", "degraded_rate", "error_rate", "throttle_rate", "probe_success_rate", "accuracy",
                           "session_survival_rate", "workflow_success_rate"})
"""Metrics that are shares of requests or runs: a threshold beyond 0..1 (100%) can never be met or never fail."""
_MAX_THRESHOLD = 1e12
"""Above any latency (seconds), rate or budget burn a run can measure: a larger threshold is a typo."""


def _threshold(value: Any) -> Any:
    """`95%` -> 0.95, `2s` -> 2.0, numbers as they are."""
    if isinstance(value, str):
        text = value.strip()
        match = _PERCENT.match(text)
        if match:
            return float(match.group(1)) / 100
        return parse_duration(text)
    return value


_threshold.accepts_json = [  # type: ignore[attr-defined]  # the file forms, for `brownout schema`
    {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*%\s*$", "examples": ["95%"]},
    *next(m.json_schema for m in Duration.__metadata__ if isinstance(m, WithJsonSchema))["anyOf"],
]


class Objective(StrictModel):
    """A metric, a statistic, a comparison and a threshold."""

    metric: MetricName = Field(..., description="Window metric (see the README's metric reference).")
    stat: Stat | None = Field(
        None, description="Statistic for latency metrics and workflow_steps / workflow_e2e (p50, p90, p95, p99, mean, max).",
    )
    adjusted: bool = Field(
        False, description="Latency percentiles with failed requests counted as infinitely slow (a target that fails fast cannot look fast)."
    )
    probe: Name | None = Field(
        None, description="Probe name: required by probe_success_rate; with accuracy, only that golden probe's answers count."
    )
    op: Op = Field(..., description="Comparison: actual OP threshold must hold.")
    threshold: float = Field(..., description="Number, percentage ('95%') or duration ('2s', in seconds).")

    @field_validator("threshold", mode="before")
    @classmethod
    def _parse_threshold(cls, value: Any, info: ValidationInfo) -> Any:
        """`95%`, `2s` and numbers; from a file, a duration metric's bare number and a share above 1 are refused
        (`threshold: 2` on ttft reads as seconds to one reader and ms to another; `95` on success_rate is 9500%)."""
        metric = info.data.get("metric")
        bare = isinstance(value, (int, float)) and not isinstance(value, bool)
        from_file = isinstance(info.context, dict) and info.context.get(FROM_FILE)
        if from_file and bare and metric in DURATION_METRICS and value != 0:
            raise ValueError(f"threshold {value:g} of '{metric}' needs a unit: write '{value:g}s' or '{value * 1000:g}ms'")
        if bare and metric in SHARE_METRICS and value > 1:
            raise ValueError(f"threshold {value:g} of '{metric}' is beyond 100%: a share is 0..1; write '{value:g}%' "
                             f"for {value:g} percent")
        return _threshold(value)

    _parse_threshold.__func__.accepts_json = _threshold.accepts_json  # type: ignore[attr-defined]  # for `brownout schema`

    @model_validator(mode="after")
    def _stat_fits_metric(self) -> "Objective":
        if not math.isfinite(self.threshold) or not 0 <= self.threshold <= _MAX_THRESHOLD:
            raise ValueError(f"threshold {self.threshold:g} is out of range: a metric is a finite number from 0 up")
        if self.metric in SHARE_METRICS and self.threshold > 1:
            raise ValueError(f"threshold {self.threshold:g} ({self.threshold:.0%}) is beyond 100%: metric '{self.metric}' "
                             "is a share of requests, from 0 to 1 (0% to 100%)")
        with_stat = LATENCY_METRICS | WORKFLOW_STAT_METRICS
        if self.metric in with_stat and self.stat is None:
            raise ValueError(f"metric '{self.metric}' needs a stat (p50, p90, p95, p99, mean or max)")
        if self.metric not in with_stat and self.stat is not None:
            raise ValueError(f"metric '{self.metric}' takes no stat")
        if self.adjusted and self.metric not in LATENCY_METRICS:
            raise ValueError("adjusted applies to latency metrics only")
        if self.metric == "probe_success_rate" and self.probe is None:
            raise ValueError("metric probe_success_rate needs probe (the probe's name)")
        if self.probe is not None and self.metric not in ("probe_success_rate", "accuracy"):
            raise ValueError("probe goes with metric probe_success_rate or accuracy, and only with them")
        return self

    def label(self) -> str:
        """`ttft.p95 <= 2` style label for reports."""
        name = self.metric if self.probe is None else f"{self.metric}[{self.probe}]"
        if self.stat:
            name += f".{self.stat}" + ("(adjusted)" if self.adjusted else "")
        return f"{name} {self.op} {self.threshold:g}"


class SLO(Objective):
    """An objective evaluated over one phase of the run."""

    name: Name = Field(..., description="Unique SLO name (a JUnit test case).")
    phase: Literal["baseline", "fault", "recovery", "run"] = Field("fault", description="Window it is evaluated over.")
    severity: Literal["critical", "major", "minor"] = Field("major", description="Weight in the resilience score.")
    inconclusive: Literal["fail", "pass"] = Field(
        "fail", description="Verdict when the window has no data for the metric. Failing is the safe default."
    )


class SteadyStateCheck(Objective):
    """An objective over the baseline window (and again over the end of recovery)."""

    name: Name = Field(..., description="Unique check name.")


class SteadyState(StrictModel):
    """What must hold before any fault is injected, and again after recovery."""

    probes: list[Name] = Field(default_factory=list, description="Probes that must pass at least `min_probe_success` of their runs.")
    min_probe_success: float = Field(1.0, gt=0, le=1, description="Share of probe runs that must pass.")

    _percentages = field_validator("min_probe_success", mode="before")(_threshold)
    checks: list[SteadyStateCheck] = Field(default_factory=list, description="Objectives over baseline load.")
    recheck_after_recovery: bool = Field(True, description="Check the same again over the recovery window.")


class ServedBy(StrictModel):
    """Where the response says who served it: a header, or a JSON field of the body or of any stream event.

    Failover and failback times need it: without it they are inconclusive, never "never".
    """

    header: str | None = Field(None, description="Response header naming the server, deployment or region (e.g. x-served-by).")
    field: str | None = Field(
        None, description="JSON field of the response body or of a stream event, dotted for nested keys (e.g. system_fingerprint, model)."
    )
    regions: dict[str, str] = Field(
        default_factory=dict,
        description="Value -> region. A value not in the map is its own region; without a map every value is.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> "ServedBy":
        if (self.header is None) == (self.field is None):
            raise ValueError("served_by takes exactly one of header or field")
        return self


class OutcomeRules(StrictModel):
    """What makes a completed response 'degraded' rather than 'ok', and who served it."""

    primary_model: str | None = Field(None, description="Responses served by another model are degraded; defaults to target.model.")
    degraded_headers: list[str] = Field(
        default_factory=lambda: ["x-brownout-degraded", "x-degraded"],
        description="Response headers whose presence (truthy value) marks a degraded response.",
    )
    ttft_budget: Duration | None = Field(None, description="A slower first token makes the response degraded.")
    e2e_budget: Duration | None = Field(None, description="A slower response makes it degraded.")
    min_output_tokens: int = Field(1, ge=0, description="Fewer output tokens (but not zero) makes it degraded; zero is failed.")
    served_by: ServedBy | None = Field(
        None,
        description="Who served each request (a header or JSON field, mapped to regions), for failover and failback. "
        "On the sandbox it defaults to the gateway's x-sandbox-region header.",
    )


class GoodputCriteria(StrictModel):
    """Per-request latency limits a request must meet to count as goodput (vLLM's definition)."""

    ttft: Duration | None = Field(None, description="TTFT limit.")
    tpot: Duration | None = Field(None, description="TPOT limit.")
    e2e: Duration | None = Field(None, description="End-to-end limit.")


class SelfCheckLimits(StrictModel):
    """Past any of these the load generator's latency figures are not trustworthy: latency objectives become
    inconclusive ("harness saturated") instead of failing. Availability objectives still count."""

    _percentages = field_validator("load_cpu_share", "cpu_pressure", "steal", mode="before")(_threshold)

    enabled: bool = Field(True, description="Judge the harness's own health; off: latency objectives always count.")
    load_cpu_share: float = Field(0.9, gt=0, le=1, description="CPU share of one core the busiest load process may use.")
    schedule_lag_p99: Duration = Field(0.05, description="p99 of t_send - t_sched (open loop): the load sent late.")
    loop_lag_p99: Duration = Field(0.02, description="p99 of the load process's event-loop wake-up lag.")
    cpu_pressure: float = Field(
        0.9, gt=0, le=1, description="Share of the run in which runnable tasks waited for a CPU (Linux PSI cpu 'some'). "
        "Any parallel work pushes it up on a small machine, so the default catches one saturated nearly all the time.",
    )
    steal: float = Field(0.1, gt=0, le=1, description="Share of CPU time the hypervisor took away (steal).")


class Scoring(StrictModel):
    """How windows are cut, recovery is judged and the harness checks itself."""

    _percentages = field_validator(
        "recovery_tolerance", "recovery_tolerance_rate", "error_budget", "accuracy_budget", mode="before"
    )(_threshold)

    bucket: Duration = Field(2.0, ge=0.01, description="Time-bucket width of the timeline and of recovery detection "
                             "(at least 10ms, at most 100000 buckets per run).")
    recovery_tolerance: float = Field(
        0.2, gt=0, le=1, description="Relative tolerance of latency and throughput watches: within this share of the baseline is recovered."
    )
    recovery_tolerance_latency: Duration = Field(
        0.05, description="Absolute part for latency metrics: within this many seconds of the baseline is recovered too."
    )
    recovery_tolerance_rate: float = Field(
        0.05, ge=0, le=1, description="Tolerance of rates (success, degraded, error), in points: within it of the baseline is recovered."
    )
    recovery_hold: Duration = Field(
        6.0, description="A watched metric has recovered once it stays within tolerance for this long (whole buckets, at least one)."
    )
    recovery_min_requests: int = Field(
        5, ge=1, le=100000, description="Buckets with fewer requests are not judged (skipped) when detecting recovery."
    )
    recovery_watch: list[str] | None = Field(
        None,
        description="Metrics that must return to baseline: success_rate, degraded_rate, error_rate, output_tokens_per_s, "
        "requests_per_s, accuracy (golden answers and checked load requests) or <latency metric>_<stat> (ttft_p95, e2e_p99, ...). Default: success_rate, degraded_rate and "
        "ttft_p95 (e2e_p95 when the load does not stream).",
    )
    self_check: SelfCheckLimits = Field(default_factory=SelfCheckLimits, description="Limits of the harness self-check.")
    recovery_objective: Duration | None = Field(None, description="RTO: time_to_recover objective used in the resilience score.")
    error_budget: float = Field(0.01, gt=0, lt=1, description="Share of requests allowed to fail (1 - availability target).")
    accuracy_budget: float = Field(
        0.05, gt=0, lt=1, description="Share of judged answers allowed to be wrong (1 - accuracy target), for accuracy_budget_burn."
    )
    goodput: GoodputCriteria = Field(default_factory=GoodputCriteria, description="Per-request limits for goodput.")

    @field_validator("recovery_watch")
    @classmethod
    def _known_watch(cls, value: list[str] | None) -> list[str] | None:
        unknown = [name for name in value or [] if name not in RECOVERY_WATCH_METRICS]
        if unknown:
            raise ValueError(f"unknown recovery watch metric(s) {', '.join(unknown)}; use success_rate, degraded_rate, "
                             "error_rate, output_tokens_per_s, requests_per_s, accuracy or <latency metric>_<stat> such as ttft_p95")
        if value is not None and not value:
            raise ValueError("recovery_watch needs at least one metric (leave it out for the default)")
        return value

    def hold_buckets(self) -> int:
        """How many consecutive judged buckets make the recovery hold (at least one)."""
        return max(1, math.ceil(self.recovery_hold / self.bucket - 1e-9))

    def watch_for(self, streaming: bool) -> list[str]:
        """The watched metrics: `recovery_watch`, else the default for a streaming or non-streaming load."""
        if self.recovery_watch is not None:
            return list(self.recovery_watch)
        return ["success_rate", "degraded_rate", "ttft_p95" if streaming else "e2e_p95"]
