"""Sampled infrastructure gauges per time bucket, for the report's gauge panel.

A gauge is a level, not a count: the chart shows its highest sample in each bucket
(an OOM spike or a full KV cache lasts one scrape), one series per endpoint and
label set. Pure functions over the samples; a bucket without a sample is None.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from brownout.rundata.gauges import Sample
from brownout.reports.models import GaugeSeries
from brownout.reports.window import Window

__all__ = ["gauge_series"]


def _label(sample: Sample) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
    return sample.endpoint + (f"{{{labels}}}" if labels else "")


def gauge_series(samples: Iterable[Sample], buckets: list[Window]) -> list[GaugeSeries]:
    """Formula: per (metric, endpoint and labels) and bucket, max of the samples whose t falls in the bucket.
    Series sorted by metric then source. Unit: the gauge's own."""
    grouped: dict[tuple[str, str], list[float | None]] = {}
    starts = [b.start for b in buckets]
    for sample in samples:
        key = (sample.metric, _label(sample))
        values = grouped.setdefault(key, [None] * len(buckets))
        i = _bucket_of(starts, buckets, sample.t)
        if i is not None and (values[i] is None or sample.value > values[i]):
            values[i] = sample.value
    return [GaugeSeries(metric=metric, source=source, values=values) for (metric, source), values in sorted(grouped.items())]


def _bucket_of(starts: list[float], buckets: list[Window], t: float) -> int | None:
    i = bisect_right(starts, t) - 1
    return i if 0 <= i < len(buckets) and t < buckets[i].end else None
