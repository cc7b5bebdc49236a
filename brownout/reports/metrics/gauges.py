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
    """Formula: per (metric, endpoint and labels) and bucket, max of the samples whose t falls in the bucket;
    a bucket without one holds the last sample while the next scrape was not yet due (1.5 × the series'
    median scrape spacing), then it is None (a scrape that failed, a replica that was down).
    Series sorted by metric then source. Unit: the gauge's own."""
    grouped: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        grouped.setdefault((sample.metric, _label(sample)), []).append(sample)
    return [GaugeSeries(metric=metric, source=source, values=_bucketed(series, buckets))
            for (metric, source), series in sorted(grouped.items())]


def _bucketed(series: list[Sample], buckets: list[Window]) -> list[float | None]:
    starts = [b.start for b in buckets]
    values: list[float | None] = [None] * len(buckets)
    last_seen: list[float | None] = [None] * len(buckets)
    for sample in sorted(series, key=lambda s: s.t):
        i = _bucket_of(starts, buckets, sample.t)
        if i is not None and (values[i] is None or sample.value > values[i]):
            values[i], last_seen[i] = sample.value, sample.t
    times = sorted(s.t for s in series)
    gaps = sorted(b - a for a, b in zip(times, times[1:]) if b > a)
    due = 1.5 * gaps[len(gaps) // 2] if gaps else 0.0
    held, held_at = None, None
    for i, bucket in enumerate(buckets):
        if values[i] is not None:
            held, held_at = values[i], last_seen[i]
        elif held_at is not None and bucket.start - held_at < due:
            values[i] = held
    return values


def _bucket_of(starts: list[float], buckets: list[Window], t: float) -> int | None:
    i = bisect_right(starts, t) - 1
    return i if 0 <= i < len(buckets) and t < buckets[i].end else None
