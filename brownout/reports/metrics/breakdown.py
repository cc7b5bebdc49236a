"""Per-bucket breakdowns the timeline charts draw: latency percentiles, errors by class, requests by region.

Pure functions over a `RequestTable` slice (one time bucket), so the series are
computed once per bucket with the same samples the phase metrics use.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from brownout.reports.metrics.latency import percentile
from brownout.reports.metrics.table import RequestTable

__all__ = ["CHART_LATENCY", "CHART_PERCENTILES", "bucket_latency", "class_counts", "region_counts"]

CHART_LATENCY = ("ttft", "itl", "e2e")
"""The latency metrics charted per bucket: first token, between tokens, whole request."""
CHART_PERCENTILES = (50, 95, 99)


def bucket_latency(table: RequestTable, at: slice) -> dict[str, dict[str, float | None]]:
    """Formula: per metric of CHART_LATENCY, nearest-rank p50/p95/p99 of the plain sample (ok and degraded
    requests) in the bucket; a metric with no sample in the bucket is absent. Unit: seconds."""
    out = {}
    for metric in CHART_LATENCY:
        sample = table.sample(at, metric, adjusted=False)
        if sample.size:
            out[metric] = {f"p{p}": percentile(sample, p) for p in CHART_PERCENTILES}
    return out


def _counted(values: np.ndarray) -> dict[str, int]:
    """Non-None value -> count, most first (ties by name)."""
    counts = Counter(str(v) for v in values if v is not None)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def class_counts(table: RequestTable, at: slice) -> dict[str, int]:
    """Formula: failed judged requests in the bucket counted by error class. Unit: requests."""
    return _counted(table.error_class[at])


def region_counts(table: RequestTable, at: slice) -> dict[str, int]:
    """Formula: answered (ok or degraded) requests in the bucket counted by the region that served them;
    requests with no known server are not counted. Unit: requests."""
    return _counted(table.region[at][table.success(at)])
