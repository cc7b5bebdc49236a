"""What each fault cost the users, and when the service was back: the impact line at the top of every report.

A game day injects several faults in sequence; the run-level time_to_recover says
only when the service was back after the last one. Here each fault window is
judged on its own span, from its injection to the next fault's injection (or the
run's end): the requests it hurt, those in flight when it hit included (errors by class, the worst bucket's success
rate, the headline latency against the baseline) and when every watched metric
was back within tolerance of the baseline, with the same rule as time_to_recover
(`recovery_hold` of judged buckets), counted from that fault's own rollback; a
stretch within tolerance that the next fault cuts short of the hold counts as back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pandas as pd
from pydantic import Field

from brownout.spec.experiment import Experiment
from brownout.spec.objectives import LATENCY_METRICS, Scoring
from brownout.rundata.timeline import FaultWindow, PhaseWindow, Timeline
from brownout.reports.metrics import time_to_recover
from brownout.reports.models import BucketMetrics, ResultModel, Value, WindowMetrics
from brownout.reports.window import Window, anchor_times

__all__ = ["FaultImpact", "LatencyKey", "fault_impacts", "headline_latency", "hit_records", "impact_spans"]


class LatencyKey(ResultModel):
    """The latency figure an impact line quotes: the first latency SLO's, else the recovery watch's."""

    metric: str
    stat: str
    adjusted: bool = False

    @property
    def label(self) -> str:
        return f"{self.metric} {self.stat}" + (" (adjusted)" if self.adjusted else "")


class FaultImpact(ResultModel):
    """One fault window's cost to users. Times are run-clock seconds; None means "no data" or "not yet"."""

    fault: str
    kind: str
    targets: list[str] = Field(default_factory=list)
    region: str | None = None
    injected_at: Value
    rolled_back_at: Value
    until: float = Field(description="End of the span judged: the next fault's injection or the run's end.")
    requests: int = Field(description="Judged requests in flight at injection (anchored up to load.timeout before it) "
                          "or sent after, until the service was back (else `until`).")
    errors: int = Field(description="Failed requests, throttled ones included (the sum of errors_by_class).")
    errors_by_class: dict[str, int] = Field(default_factory=dict)
    degraded: int = Field(0, description="Answered, but by a fallback the experiment calls degraded.")
    success_rate: Value = Field(description="Over the same span.")
    worst_success_rate: Value = Field(description="Lowest success rate of a judged bucket in the span.")
    worst_at: Value = Field(None, description="Start of that bucket.")
    latency: LatencyKey
    latency_baseline: Value
    latency_during: Value
    latency_change: Value = Field(description="latency_during / latency_baseline - 1 (inf when the baseline is 0).")
    status: Literal["back", "not_back", "inconclusive", "not_injected"]
    back_at: Value = Field(None, description="When every watched metric was back within tolerance (hold held).")
    back_after: Value = Field(None, description="back_at - rolled_back_at: seconds the users waited after the rollback.")
    reason: str = ""


def headline_latency(spec: Experiment) -> LatencyKey:
    """The first latency SLO's metric and statistic; else the watched latency (ttft p95 streaming, e2e p95 not)."""
    slo = next((s for s in spec.slos if s.metric in LATENCY_METRICS and s.stat is not None), None)
    if slo is not None:
        return LatencyKey(metric=slo.metric, stat=slo.stat, adjusted=slo.adjusted)
    return LatencyKey(metric="ttft" if spec.load.stream else "e2e", stat="p95")


def impact_spans(timeline: Timeline) -> list[tuple[FaultWindow, float, float]]:
    """(fault window, its rollback or end, the next injection or run end) of every injected fault, in injection order."""
    injected = sorted((f for f in timeline.faults if f.injected_at is not None), key=lambda f: f.injected_at or 0.0)
    end = timeline.run_end if timeline.run_end is not None else max((p.end for p in timeline.phases), default=0.0)
    spans = []
    for i, fault in enumerate(injected):
        starts = [g.injected_at for g in injected[i + 1:] if g.injected_at is not None and g.injected_at > fault.injected_at]
        until = max(min(starts, default=end), fault.injected_at or end)
        since = fault.rolled_back_at if fault.rolled_back_at is not None else min(until, fault.planned_rollback_at or until)
        spans.append((fault, since, max(until, since)))    # overlapping faults: judged at least to the rollback
    return spans


def hit_records(records: pd.DataFrame, start: float, end: float, timeout: float) -> pd.DataFrame:
    """The requests a fault in at `start` could hurt until `end`: anchored in [start, end), and those anchored up
    to `timeout` before that were still in flight at `start` (no end yet, or ended after it)."""
    anchor = anchor_times(records)
    ended = pd.to_numeric(records["t_end"], errors="coerce")
    in_flight = (anchor >= start - timeout) & (anchor < start) & (ended.isna() | (ended >= start))
    return records[in_flight | ((anchor >= start) & (anchor < end))]


def _change(during: float | None, baseline: float | None) -> float | None:
    if during is None or baseline is None:
        return None
    if baseline == 0:
        return 0.0 if during == 0 else float("inf")
    return during / baseline - 1


def _worst(buckets: list[BucketMetrics], start: float, end: float, min_requests: int) -> tuple[float | None, float | None]:
    judged = [b for b in buckets if b.end > start and b.start < end and b.requests >= min_requests
              and b.success_rate is not None]
    if not judged:
        return None, None
    worst = min(judged, key=lambda b: b.success_rate or 0.0)
    return worst.success_rate, worst.start


def fault_impacts(
    spec: Experiment,
    records: pd.DataFrame,
    timeline: Timeline,
    scoring: Scoring,
    baseline: WindowMetrics | None,
    buckets: list[BucketMetrics],
    measure: Callable[[pd.DataFrame, Window], WindowMetrics],
) -> list[FaultImpact]:
    """One FaultImpact per fault window, injected or not (a window that never went in says so).

    `measure(records, window)` gives the window metrics of those records over a span (scoring's
    `window_metrics`, bound to the run's probes and scoring).
    """
    key = headline_latency(spec)
    watch = scoring.watch_for(spec.load.stream)
    base_phase = timeline.phase("baseline")
    out = []
    for fault in timeline.faults:
        if fault.injected_at is None:
            out.append(FaultImpact(fault=fault.fault, kind=fault.kind, targets=list(fault.targets), region=fault.region,
                                   injected_at=None, rolled_back_at=None, until=fault.planned_inject_at or timeline.run_start,
                                   requests=0, errors=0, success_rate=None, worst_success_rate=None, latency=key,
                                   latency_baseline=None, latency_during=None, latency_change=None,
                                   status="not_injected", reason=fault.error or "never injected"))
    end = timeline.run_end if timeline.run_end is not None else max((p.end for p in timeline.phases), default=0.0)
    for fault, since, until in impact_spans(timeline):
        alone = Timeline(run_start=timeline.run_start, run_end=until, faults=[fault], phases=[
            *([base_phase] if base_phase is not None else []),
            PhaseWindow("fault", fault.injected_at or since, since), PhaseWindow("recovery", since, until)])
        recovery = time_to_recover(records, alone, scoring, watch, cut_holds=until < end)
        back_at = recovery.recovered_at if recovery.status == "recovered" else None
        span_end = max(back_at, since) if back_at is not None else until
        hit = fault.injected_at or since
        # injected_at is stamped once the inject call returned: the fault may have bitten from its planned time on
        bite = min(hit, fault.planned_inject_at) if fault.planned_inject_at is not None else hit
        window = measure(hit_records(records, bite, span_end, spec.load.timeout),
                         Window(f"fault {fault.fault}", hit - spec.load.timeout, span_end))
        stats = window.latency_adjusted if key.adjusted else window.latency
        during = getattr(stats[key.metric], key.stat) if key.metric in stats else None
        base_stats = None if baseline is None else (baseline.latency_adjusted if key.adjusted else baseline.latency)
        base = getattr(base_stats[key.metric], key.stat) if base_stats and key.metric in base_stats else None
        worst, worst_at = _worst(buckets, fault.injected_at or since, span_end, scoring.recovery_min_requests)
        status = {"recovered": "back", "never": "not_back"}.get(recovery.status, "inconclusive")
        out.append(FaultImpact(
            fault=fault.fault, kind=fault.kind, targets=list(fault.targets), region=fault.region,
            injected_at=fault.injected_at, rolled_back_at=fault.rolled_back_at, until=until,
            requests=window.requests, errors=sum(window.errors_by_class.values()), errors_by_class=window.errors_by_class,
            degraded=window.degraded,
            success_rate=window.success_rate, worst_success_rate=worst if worst is not None else window.success_rate,
            worst_at=worst_at, latency=key, latency_baseline=base, latency_during=during,
            latency_change=_change(during, base), status=status, back_at=back_at,
            back_after=None if back_at is None else back_at - since, reason=recovery.reason))
    return sorted(out, key=lambda i: (i.injected_at if i.injected_at is not None else i.until))


