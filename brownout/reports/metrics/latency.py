"""Per-request latency series and their statistics, plain and adjusted.

Definitions are in `FORMULAS` (seconds, lower is better; shared/metrics.md).

*Plain* statistics use successful requests (ok and degraded) whose value is defined.
*Adjusted* statistics add one +inf sample per failed request (throttled included),
so a target that fails fast cannot look fast; a percentile that lands on a
failed request is +inf. Percentiles are nearest-rank (the smallest sample with
at least p% of samples at or below it), which never interpolates into inf.
An empty sample gives None (no data), never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from brownout.reports.metrics.outcomes import is_success

__all__ = ["FORMULAS", "STATS", "latency_samples", "latency_stats", "per_request", "percentile", "with_failures"]

STATS = ("p50", "p90", "p95", "p99", "mean", "max")
FORMULAS = {
    "ttft": "t_first - t_send",
    "ttft_from_schedule": "t_first - t_sched (free of coordinated omission)",
    "itl": "t_chunk[i] - t_chunk[i-1], pooled over requests (vLLM)",
    "tpot": "(t_last - t_first) / (output_tokens - 1); undefined for 1-token outputs (vLLM)",
    "e2e": "t_end - t_send",
    "schedule_lag": "t_send - t_sched",
}


def _col(records: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(records[name], errors="coerce").astype(float)


def per_request(records: pd.DataFrame, metric: str) -> pd.Series:
    """One value per request (NaN when undefined) for every latency metric except pooled `itl`."""
    if metric == "ttft":
        return _col(records, "t_first") - _col(records, "t_send")
    if metric == "ttft_from_schedule":
        return _col(records, "t_first") - _col(records, "t_sched")
    if metric == "e2e":
        return _col(records, "t_end") - _col(records, "t_send")
    if metric == "schedule_lag":
        return _col(records, "t_send") - _col(records, "t_sched")
    if metric == "tpot":
        tokens = _col(records, "output_tokens")
        span = _col(records, "t_last") - _col(records, "t_first")
        return (span / (tokens - 1)).where(tokens >= 2)
    raise ValueError(f"no per-request value for latency metric '{metric}'")


def _pooled_itl(records: pd.DataFrame) -> np.ndarray:
    gaps: list[float] = []
    for row in records["itl"]:
        if isinstance(row, Iterable) and not isinstance(row, (str, bytes)):
            gaps.extend(float(g) for g in row)
    return np.asarray(gaps, dtype=float)


def latency_samples(records: pd.DataFrame, metric: str, *, adjusted: bool) -> np.ndarray:
    """The sample a statistic is taken over: defined values of successful requests (+inf per failure if adjusted)."""
    success = is_success(records)
    good = records[success]
    if metric == "itl":
        values = _pooled_itl(good)
    else:
        series = per_request(good, metric)
        values = series[series.notna()].to_numpy(dtype=float)
    return with_failures(values, int((~success).sum()), adjusted=adjusted)


def with_failures(values: np.ndarray, failures: int, *, adjusted: bool) -> np.ndarray:
    """The plain sample, or (adjusted) the plain sample plus one +inf per failed request."""
    return np.concatenate([values, np.full(failures, math.inf)]) if adjusted else values


def percentile(sample: np.ndarray, p: float) -> float | None:
    """Formula: nearest rank, sorted(sample)[ceil(p/100 * n) - 1]. None for an empty sample."""
    if sample.size == 0:
        return None
    ordered = np.sort(sample)
    rank = max(1, math.ceil(p / 100 * ordered.size - 1e-9))
    return float(ordered[rank - 1])


def latency_stats(sample: np.ndarray) -> dict[str, float | None]:
    """p50, p90, p95, p99, mean and max of a sample; all None when it is empty."""
    if sample.size == 0:
        return {name: None for name in STATS}
    return {
        "p50": percentile(sample, 50),
        "p90": percentile(sample, 90),
        "p95": percentile(sample, 95),
        "p99": percentile(sample, 99),
        "mean": float(np.mean(sample)),
        "max": float(np.max(sample)),
    }
