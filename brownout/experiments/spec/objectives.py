"""SLOs, steady-state checks, request outcome rules and scoring settings.

Metric names are a closed vocabulary (`MetricName`) so a typo is a validation
error, not an SLO that silently never has data. Formulas: ../shared/metrics.md
and `brownout.reports.scoring`.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from brownout.experiments.spec.base import Name, StrictModel
from brownout.experiments.spec.units import Duration, parse_duration

__all__ = [
    "LATENCY_METRICS",
    "GoodputCriteria",
    "MetricName",
    "Objective",
    "OutcomeRules",
    "SLO",
    "Scoring",
    "SteadyState",
    "SteadyStateCheck",
]

MetricName = Literal[
    "success_rate", "degraded_rate", "error_rate", "throttle_rate",
    "ttft", "ttft_from_schedule", "itl", "tpot", "e2e", "schedule_lag",
    "output_tokens_per_s", "requests_per_s", "goodput", "token_goodput",
    "time_to_recover", "failover_time", "failback_time", "error_budget_burn", "probe_success_rate",
]
LATENCY_METRICS = frozenset({"ttft", "ttft_from_schedule", "itl", "tpot", "e2e", "schedule_lag"})
Stat = Literal["p50", "p90", "p95", "p99", "mean", "max"]
Op = Literal["<", "<=", ">", ">="]
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")


def _threshold(value: Any) -> Any:
    """`95%` -> 0.95, `2s` -> 2.0, numbers as they are."""
    if isinstance(value, str):
        text = value.strip()
        match = _PERCENT.match(text)
        if match:
            return float(match.group(1)) / 100
        return parse_duration(text)
    return value


class Objective(StrictModel):
    """A metric, a statistic, a comparison and a threshold."""

    metric: MetricName = Field(..., description="Window metric (see the README's metric reference).")
    stat: Stat | None = Field(None, description="Statistic for latency metrics (p50, p90, p95, p99, mean, max).")
    adjusted: bool = Field(
        False, description="Latency percentiles with failed requests counted as infinitely slow (a target that fails fast cannot look fast)."
    )
    probe: Name | None = Field(None, description="Probe name, for probe_success_rate.")
    op: Op = Field(..., description="Comparison: actual OP threshold must hold.")
    threshold: float = Field(..., description="Number, percentage ('95%') or duration ('2s', in seconds).")

    _parse_threshold = field_validator("threshold", mode="before")(_threshold)

    @model_validator(mode="after")
    def _stat_fits_metric(self) -> "Objective":
        if self.metric in LATENCY_METRICS and self.stat is None:
            raise ValueError(f"metric '{self.metric}' needs a stat (p50, p90, p95, p99, mean or max)")
        if self.metric not in LATENCY_METRICS and self.stat is not None:
            raise ValueError(f"metric '{self.metric}' takes no stat")
        if self.adjusted and self.metric not in LATENCY_METRICS:
            raise ValueError("adjusted applies to latency metrics only")
        if (self.metric == "probe_success_rate") != (self.probe is not None):
            raise ValueError("probe goes with metric probe_success_rate, and only with it")
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


class OutcomeRules(StrictModel):
    """What makes a completed response 'degraded' rather than 'ok'."""

    primary_model: str | None = Field(None, description="Responses served by another model are degraded; defaults to target.model.")
    degraded_headers: list[str] = Field(
        default_factory=lambda: ["x-brownout-degraded", "x-degraded"],
        description="Response headers whose presence (truthy value) marks a degraded response.",
    )
    ttft_budget: Duration | None = Field(None, description="A slower first token makes the response degraded.")
    e2e_budget: Duration | None = Field(None, description="A slower response makes it degraded.")
    min_output_tokens: int = Field(1, ge=0, description="Fewer output tokens (but not zero) makes it degraded; zero is failed.")


class GoodputCriteria(StrictModel):
    """Per-request latency limits a request must meet to count as goodput (vLLM's definition)."""

    ttft: Duration | None = Field(None, description="TTFT limit.")
    tpot: Duration | None = Field(None, description="TPOT limit.")
    e2e: Duration | None = Field(None, description="End-to-end limit.")


class Scoring(StrictModel):
    """How windows are cut and recovery is judged."""

    _percentages = field_validator("recovery_tolerance", "error_budget", mode="before")(_threshold)

    bucket: Duration = Field(2.0, description="Time-bucket width of the timeline and of recovery detection.")
    recovery_tolerance: float = Field(
        0.2, gt=0, le=1, description="A watched metric is recovered within this relative distance of its baseline."
    )
    recovery_watch: list[Literal["success_rate", "ttft_p95", "output_tokens_per_s"]] = Field(
        default_factory=lambda: ["success_rate", "ttft_p95"], description="Metrics that must return to baseline."
    )
    recovery_objective: Duration | None = Field(None, description="RTO: time_to_recover objective used in the resilience score.")
    error_budget: float = Field(0.01, gt=0, lt=1, description="Share of requests allowed to fail (1 - availability target).")
    goodput: GoodputCriteria = Field(default_factory=GoodputCriteria, description="Per-request limits for goodput.")
