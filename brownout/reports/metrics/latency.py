"""Per-request latency series and their statistics, plain and adjusted.

Definitions are in `FORMULAS` (seconds, lower is better; shared/metrics.md).

Samples are taken over judged requests (`outcomes.judged`: abandoned ones left out).
*Plain* statistics use successful requests (ok and degraded) whose value is defined.
*Adjusted* statistics add one +inf sample per failed request (throttled included),
so a target that fails fast cannot look fast; a percentile that lands on a
failed request is +inf. Percentiles are nearest-rank (the smallest sample with
at least p% of samples at or below it), which never interpolates into inf.
An empty sample gives None (no data), never 0.
"""

from __future__ import annotations

import math
from itertools import chain

import numpy as np
import pandas as pd

from brownout.reports.metrics.outcomes import is_success

__all__ = [
    "FORMULAS",
    "STATS",
    "itl_gaps",
    "latency_samples",
    "latency_stats",
    "per_request",
    "percentile",
    "statistic",
    "with_failures",
]

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


def itl_gaps(records: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Every request's ITL gaps, concatenated in row order, and how many each request has."""
    rows = [row if isinstance(row, (list, tuple, np.ndarray)) else () for row in records["itl"]]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    return np.fromiter(chain.from_iterable(rows), dtype=float, count=int(lengths.sum())), lengths


def latency_samples(records: pd.DataFrame, metric: str, *, adjusted: bool) -> np.ndarray:
    """The sample a statistic is taken over: defined values of successful requests (+inf per failure if adjusted)."""
    success = is_success(records)
    good = records[success]
    if metric == "itl":
        values = itl_gaps(good)[0]
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


def statistic(sample: np.ndarray, stat: str) -> float | None:
    """One of `STATS` (`p50`..`p99` nearest rank, `mean`, `max`) of a sample; None when it is empty."""
    if stat not in STATS:
        raise ValueError(f"unknown statistic '{stat}'")
    if sample.size == 0:
        return None
    if stat == "mean":
        return float(np.mean(sample))
    if stat == "max":
        return float(np.max(sample))
    return percentile(sample, float(stat.removeprefix("p")))


def latency_stats(sample: np.ndarray) -> dict[str, float | None]:
    """p50, p90, p95, p99, mean and max of a sample; all None when it is empty."""
    return {name: statistic(sample, name) for name in STATS}
