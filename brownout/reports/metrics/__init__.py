"""Metric families, one module each; every metric is a pure function over a frame."""

from brownout.reports.metrics.frames import probe_frame, request_frame
from brownout.reports.metrics.latency import (
    STATS,
    latency_samples,
    latency_stats,
    per_request,
    percentile,
)
from brownout.reports.metrics.outcomes import (
    OutcomeCounts,
    count_outcomes,
    degraded_rate,
    error_budget_burn,
    error_rate,
    success_rate,
    throttle_rate,
)
from brownout.reports.metrics.probes import probe_success_rate, probe_summaries
from brownout.reports.metrics.recovery import failover_time, time_to_recover
from brownout.reports.metrics.throughput import (
    goodput,
    output_tokens_per_s,
    requests_per_s,
    token_goodput,
)

__all__ = [
    "STATS",
    "OutcomeCounts",
    "count_outcomes",
    "degraded_rate",
    "error_budget_burn",
    "error_rate",
    "failover_time",
    "goodput",
    "latency_samples",
    "latency_stats",
    "output_tokens_per_s",
    "per_request",
    "percentile",
    "probe_frame",
    "probe_success_rate",
    "request_frame",
    "probe_summaries",
    "requests_per_s",
    "success_rate",
    "throttle_rate",
    "time_to_recover",
    "token_goodput",
]
