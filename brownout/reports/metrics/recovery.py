"""Run-level recovery metrics: time_to_recover and failover_time (seconds, lower is better).

Both are properties of the whole run, not of one phase. "Never" is an explicit
status with value +inf (so an SLO on it fails); "no data" is status `no_data`
with value None (so an SLO on it is inconclusive).
"""

from __future__ import annotations

import math

import pandas as pd

from brownout.experiments.spec.objectives import Scoring
from brownout.experiments.timeline import FaultWindow, Timeline
from brownout.reports.metrics.latency import percentile
from brownout.reports.metrics.outcomes import is_success, success_rate
from brownout.reports.metrics.table import RequestTable
from brownout.reports.metrics.throughput import per_second
from brownout.reports.models import FailoverResult, RecoveryResult
from brownout.reports.window import Window, bucket_windows, phase_windows

__all__ = ["HIGHER_IS_BETTER", "failover_time", "time_to_recover", "watched_value", "within_tolerance"]

HIGHER_IS_BETTER = {"success_rate": True, "ttft_p95": False, "output_tokens_per_s": True}
"""Direction of each metric `scoring.recovery_watch` may name."""


def watched_value(table: RequestTable, window: Window, name: str) -> float | None:
    """A watch metric over `window` (ttft_p95 is the plain p95 of TTFT)."""
    at = table.span(window)
    if name == "success_rate":
        return success_rate(table.counts(at))
    if name == "ttft_p95":
        return percentile(table.ttft_sample(at, adjusted=False), 95)
    if name == "output_tokens_per_s":
        return per_second(table.output_tokens(at), at.stop - at.start, window.duration)
    raise ValueError(f"unknown recovery watch metric '{name}'")


def within_tolerance(value: float | None, baseline: float, tolerance: float, higher_is_better: bool) -> bool:
    """No worse than `tolerance` (relative) off baseline; better than baseline is always within."""
    if value is None:
        return False
    if higher_is_better:
        return value >= baseline * (1 - tolerance)
    return value <= baseline * (1 + tolerance)


def _recovery_start(timeline: Timeline) -> float | None:
    rollbacks = [f.rolled_back_at for f in timeline.faults if f.rolled_back_at is not None]
    if rollbacks:
        return max(rollbacks)
    fault = timeline.phase("fault")
    return fault.end if fault is not None else None


def time_to_recover(records: pd.DataFrame, timeline: Timeline, scoring: Scoring) -> RecoveryResult:
    """Formula: start of the first bucket after which every watched metric stays within
    tolerance of baseline until the end of the run, minus the last rollback time
    (the fault phase's end when no rollback was recorded). Buckets are
    `scoring.bucket` wide, aligned on that rollback; only full buckets count.
    Unit: seconds. Lower is better.
    """
    watch = list(scoring.recovery_watch)
    windows = phase_windows(timeline)
    since = _recovery_start(timeline)
    end = windows["recovery"].end if "recovery" in windows else timeline.run_end

    def no_data(reason: str, baseline: dict[str, float | None] | None = None) -> RecoveryResult:
        return RecoveryResult(status="no_data", value=None, since=since, baseline=baseline or {}, watch=watch, reason=reason)

    if "baseline" not in windows or since is None or end is None:
        return no_data("the run has no baseline, fault end or recovery window")
    table = RequestTable.build(records, scoring.goodput)
    baseline = {name: watched_value(table, windows["baseline"], name) for name in watch}
    missing = [name for name, value in baseline.items() if value is None]
    if missing:
        return no_data(f"no baseline data for {', '.join(missing)}", baseline)
    buckets = bucket_windows(since, end, scoring.bucket, full_only=True)
    if not buckets:
        return no_data("no full bucket between the rollback and the end of the run", baseline)
    recovered = [
        all(
            within_tolerance(watched_value(table, b, name), baseline[name],
                             scoring.recovery_tolerance, HIGHER_IS_BETTER[name])
            for name in watch
        )
        for b in buckets
    ]
    first = len(buckets)
    while first > 0 and recovered[first - 1]:
        first -= 1
    if first == len(buckets):
        return RecoveryResult(status="never", value=math.inf, since=since, baseline=baseline, watch=watch,
                              reason="still outside tolerance in the last bucket of the run")
    at = buckets[first].start
    return RecoveryResult(status="recovered", value=at - since, since=since, recovered_at=at, baseline=baseline,
                          watch=watch, reason=f"within {scoring.recovery_tolerance:.0%} of baseline from bucket {first}")


def _first_mark(records: pd.DataFrame, marks: tuple[str, ...]) -> pd.Series:
    out = pd.Series(math.nan, index=records.index, dtype=float)
    for mark in reversed(marks):
        col = pd.to_numeric(records[mark], errors="coerce")
        out = col.where(col.notna(), out)
    return out


def failover_time(records: pd.DataFrame, timeline: Timeline) -> list[FailoverResult]:
    """Formula: per region fault, (completion of the first ok/degraded request served by
    another region at or after the first failure) - (first failure after injected_at).
    A failure's time is when the client saw it (t_end, else the last mark it has).
    No failure after injection but service from another region: 0 ("seamless").
    failback (failback_time): (completion of the first ok/degraded request served by the
    region again) - rolled_back_at; inf when it never served again, None before rollback.
    Region from the `region` column. Unit: seconds. Lower is better.
    """
    done = _first_mark(records, ("t_end", "t_last", "t_first", "t_headers", "t_send", "t_sched"))
    success = is_success(records)
    results = []
    region_faults = [fault for fault in timeline.faults if fault.region is not None]
    for fault in region_faults:
        base = dict(fault=fault.fault, region=fault.region, injected_at=fault.injected_at)
        if fault.injected_at is None:
            results.append(FailoverResult(status="no_data", value=None, reason="fault was never injected", **base))
            continue
        elsewhere = success & records["region"].notna() & (records["region"] != fault.region)
        failures = done[(records["outcome"] == "failed") & (done >= fault.injected_at)]
        if failures.empty:
            served = done[elsewhere & (done >= fault.injected_at)]
            if served.empty:
                results.append(FailoverResult(status="no_data", value=None,
                                              reason="no failure and no request served by another region", **base))
            else:
                results.append(FailoverResult(status="seamless", value=0.0, served_elsewhere_at=float(served.min()),
                                              reason="no request failed after the region went down", **base))
            continue
        first_failure = float(failures.min())
        served = done[elsewhere & (done >= first_failure)]
        if served.empty:
            results.append(FailoverResult(status="never", value=math.inf, first_failure_at=first_failure,
                                          reason="no other region served a request afterwards", **base))
            continue
        at = float(served.min())
        results.append(FailoverResult(status="failed_over", value=at - first_failure, first_failure_at=first_failure,
                                      served_elsewhere_at=at, reason="", **base))
    return [_with_failback(result, fault, records, done, success) for result, fault in zip(results, region_faults)]


def _with_failback(result: FailoverResult, fault: FaultWindow, records: pd.DataFrame, done: pd.Series,
                   success: pd.Series) -> FailoverResult:
    if fault.rolled_back_at is None:
        return result
    home = done[success & (records["region"] == fault.region) & (done >= fault.rolled_back_at)]
    if home.empty:
        return result.model_copy(update={"failback": math.inf})
    at = float(home.min())
    return result.model_copy(update={"failback": at - fault.rolled_back_at, "served_home_at": at})
