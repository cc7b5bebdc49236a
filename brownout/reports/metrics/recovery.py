"""Run-level recovery metrics: time_to_recover and failover_time (seconds, lower is better).

Both are properties of the whole run, not of one phase. "Never" is an explicit
status with value +inf (so an SLO on it fails); `inconclusive` has value None
(so an SLO on it is inconclusive): a run that cannot tell (too few requests, no
baseline, no way to know who served) is never reported as a target that did
not recover. Abandoned requests are left out of both (`judged`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from brownout.spec.objectives import LATENCY_METRICS, Scoring
from brownout.rundata.timeline import FaultWindow, Timeline
from brownout.reports.fmt import format_value
from brownout.reports.metrics.accuracy import AnswerTable
from brownout.reports.metrics.frames import probe_frame
from brownout.reports.metrics.latency import STATS, statistic
from brownout.reports.metrics.outcomes import degraded_rate, error_rate, is_success, judged, success_rate
from brownout.reports.metrics.table import RequestTable
from brownout.reports.metrics.throughput import per_second
from brownout.reports.models import FailoverResult, RecoveryResult
from brownout.reports.window import Window, bucket_windows, phase_windows

__all__ = ["Tolerance", "failover_time", "time_to_recover", "tolerance_for", "watched_value"]

_RATES = {"success_rate": success_rate, "degraded_rate": degraded_rate, "error_rate": error_rate}
_HIGHER_IS_BETTER = frozenset({"success_rate", "requests_per_s", "output_tokens_per_s", "accuracy"})
_FLOAT_NOISE = 1e-9
"""Slack on the tolerance bound, so that 0.8 vs 1.0 at 20% is within whatever the last bit says."""


def _latency_parts(name: str) -> tuple[str, str] | None:
    """`ttft_from_schedule_p95` -> (`ttft_from_schedule`, `p95`); None for a name that is not `<latency>_<stat>`."""
    metric, _, stat = name.rpartition("_")
    return (metric, stat) if metric in LATENCY_METRICS and stat in STATS else None


def watched_value(table: RequestTable, window: Window, name: str, answers: AnswerTable | None = None) -> float | None:
    """A watch metric (`RECOVERY_WATCH_METRICS`) over `window`; latency ones are plain statistics,
    accuracy is over the judged answers of `answers` (None without them)."""
    if name == "accuracy":
        return None if answers is None else answers.accuracy(window)
    at, duration = table.span(window), window.duration
    latency = _latency_parts(name)
    if latency is not None:
        return statistic(table.sample(at, latency[0], adjusted=False), latency[1])
    counts = table.counts(at)
    if name in _RATES:
        return _RATES[name](counts)
    if name == "requests_per_s":
        return per_second(counts.success, counts.requests, duration)
    if name == "output_tokens_per_s":
        return per_second(table.output_tokens(window), counts.requests, duration)
    raise ValueError(f"unknown recovery watch metric '{name}'")


@dataclass(frozen=True)
class Tolerance:
    """How far on its bad side of the baseline a watched metric may be and still count as recovered."""

    relative: float
    absolute: float
    higher_is_better: bool

    def within(self, value: float | None, baseline: float) -> bool:
        """|value - baseline| <= max(relative * |baseline|, absolute) on the bad side; better is always within.

        The absolute part keeps a tiny baseline (a 0% degraded share, a 60 ms TTFT) from
        making noise look like a relapse. No value (no sample in the bucket) is not within.
        """
        if value is None:
            return False
        worse_by = baseline - value if self.higher_is_better else value - baseline
        return worse_by <= max(self.relative * abs(baseline), self.absolute) + _FLOAT_NOISE

    def describe(self, name: str) -> str:
        """`ttft_p95: 20% of baseline or 50 ms`, `success_rate: 5 pp of baseline`, for the report."""
        parts = [f"{self.relative * 100:.4g}%"] if self.relative else []
        if self.absolute:
            parts.append(format_value(self.absolute, "ttft") if _latency_parts(name) else f"{self.absolute * 100:.4g} pp")
        return f"{name}: {' or '.join(parts) or 'exactly'} of baseline"


def tolerance_for(name: str, scoring: Scoring) -> Tolerance:
    """Latency: `recovery_tolerance` relative or `recovery_tolerance_latency` absolute, whichever is wider.
    Rates: `recovery_tolerance_rate` points only (20% of a 100% success rate would call 80% recovered).
    Throughputs: relative only."""
    if _latency_parts(name):
        return Tolerance(scoring.recovery_tolerance, scoring.recovery_tolerance_latency, False)
    if name in _RATES or name == "accuracy":
        return Tolerance(0.0, scoring.recovery_tolerance_rate, name in _HIGHER_IS_BETTER)
    return Tolerance(scoring.recovery_tolerance, 0.0, name in _HIGHER_IS_BETTER)


def _recovery_start(timeline: Timeline) -> float | None:
    rollbacks = [f.rolled_back_at for f in timeline.faults if f.rolled_back_at is not None]
    if rollbacks:
        return max(rollbacks)
    fault = timeline.phase("fault")
    return fault.end if fault is not None else None


def time_to_recover(records: pd.DataFrame, timeline: Timeline, scoring: Scoring, watch: list[str],
                    probes: pd.DataFrame | None = None, *, cut_holds: bool = False) -> RecoveryResult:
    """Formula: recovered_at - since. since: the last rollback, else the fault phase's end. From it, full
    `bucket`-wide buckets to the recovery phase's end; one with fewer than `recovery_min_requests`
    (non-abandoned) requests is not judged. recovered_at: start of the first judged bucket that begins
    `recovery_hold` of consecutive judged buckets in which every watched metric is within tolerance of its
    baseline-phase value: worse by at most max(recovery_tolerance * |baseline|, absolute), absolute being
    recovery_tolerance_latency for latency, recovery_tolerance_rate for rates, 0 for throughputs.
    never (inf): the last judged buckets are outside; inconclusive (None): nothing judged, no baseline,
    or a within-tolerance tail shorter than the hold (with `cut_holds`, such a tail counts as recovered: the
    window was cut by the next fault of a game day, not by the run). Watching accuracy (golden runs in `probes`
    and checked requests), a bucket without a judged answer is not judged either. Unit: seconds. Lower is better.
    """
    hold = scoring.hold_buckets()
    hold_text = f"{hold} bucket(s) ({format_value(hold * scoring.bucket, 'ttft')})"
    tolerances = {name: tolerance_for(name, scoring) for name in watch}
    windows = phase_windows(timeline)
    since = _recovery_start(timeline)
    end = windows["recovery"].end if "recovery" in windows else timeline.run_end
    common = dict(since=since, watch=list(watch), hold=hold * scoring.bucket,
                  tolerance="; ".join(t.describe(name) for name, t in tolerances.items()))

    def inconclusive(reason: str, baseline: dict[str, float | None] | None = None) -> RecoveryResult:
        return RecoveryResult(status="inconclusive", value=None, baseline=baseline or {}, reason=reason, **common)

    if "baseline" not in windows or since is None or end is None:
        return inconclusive("the run has no baseline, fault end or recovery window")
    table = RequestTable.build(records, scoring.goodput)
    answers = AnswerTable.build(probe_frame(probes), records) if "accuracy" in watch else None
    baseline = {name: watched_value(table, windows["baseline"], name, answers) for name in watch}
    missing = [name for name, value in baseline.items() if value is None]
    if missing:
        return inconclusive(f"no baseline data for {', '.join(missing)}", baseline)
    judged_buckets, stretch, stretch_start, outside = 0, 0, since, []
    for bucket in bucket_windows(since, end, scoring.bucket, full_only=True):
        at = table.span(bucket)
        if at.stop - at.start < scoring.recovery_min_requests or (answers is not None and not answers.judged(bucket)):
            continue
        judged_buckets += 1
        outside = [name for name in watch
                   if not tolerances[name].within(watched_value(table, bucket, name, answers), baseline[name])]
        stretch = 0 if outside else stretch + 1
        if stretch == 1:
            stretch_start = bucket.start
        if stretch == hold:
            return RecoveryResult(status="recovered", value=stretch_start - since, recovered_at=stretch_start,
                                  baseline=baseline, reason=f"every watched metric within tolerance for {hold} judged "
                                  "bucket(s) in a row", **common)
    if judged_buckets == 0:
        return inconclusive(f"no bucket after the fault had {scoring.recovery_min_requests} requests or more to judge",
                            baseline)
    if stretch and cut_holds:
        return RecoveryResult(status="recovered", value=stretch_start - since, recovered_at=stretch_start,
                              baseline=baseline, reason=f"every watched metric within tolerance for the {stretch} judged "
                              "bucket(s) before the next fault", **common)
    if stretch:
        return inconclusive(f"the run ended {stretch} judged bucket(s) into a stretch within tolerance, "
                            f"shorter than the hold of {hold_text}", baseline)
    if judged_buckets < hold:
        return inconclusive(f"only {judged_buckets} judged bucket(s), fewer than the hold of {hold_text}", baseline)
    return RecoveryResult(status="never", value=math.inf, baseline=baseline,
                          reason=f"{', '.join(outside)} outside tolerance in the last judged bucket", **common)


def _first_mark(records: pd.DataFrame, marks: tuple[str, ...]) -> pd.Series:
    out = pd.Series(math.nan, index=records.index, dtype=float)
    for mark in reversed(marks):
        col = pd.to_numeric(records[mark], errors="coerce")
        out = col.where(col.notna(), out)
    return out


_NO_REGIONS = "no way to know who served each request: set outcome.served_by (a response header or JSON field)"


def failover_time(records: pd.DataFrame, timeline: Timeline) -> list[FailoverResult]:
    """Formula: per region fault, (completion of the first ok/degraded request served by
    another region at or after the first failure) - (first failure after injected_at).
    A failure's time is when the client saw it (t_end, else the last mark it has).
    No failure after injection but service from another region: 0 ("seamless").
    failback (failback_time): (completion of the first ok/degraded request served by the
    region again) - rolled_back_at; inf when it never served again, None before rollback.
    Region from the `region` column (`outcome.served_by`); when no request has one, every
    region fault is inconclusive, never "never". Abandoned requests are left out.
    Unit: seconds. Lower is better.
    """
    records = judged(records)
    known = bool(records["region"].notna().any())
    done = _first_mark(records, ("t_end", "t_last", "t_first", "t_headers", "t_send", "t_sched"))
    success = is_success(records)
    results = []
    for fault in timeline.faults:
        if fault.region is None:
            continue
        if fault.injected_at is None:
            results.append(_inconclusive(fault, "fault was never injected"))
        elif not known:
            results.append(_inconclusive(fault, _NO_REGIONS))
        else:
            results.append(_with_failback(_failover(fault, records, done, success), fault, records, done, success))
    return results


def _inconclusive(fault: FaultWindow, reason: str) -> FailoverResult:
    return FailoverResult(fault=fault.fault, region=fault.region, injected_at=fault.injected_at,
                          status="inconclusive", value=None, reason=reason)


def _failover(fault: FaultWindow, records: pd.DataFrame, done: pd.Series, success: pd.Series) -> FailoverResult:
    """failover_time of an injected region fault, regions known."""
    base = dict(fault=fault.fault, region=fault.region, injected_at=fault.injected_at)
    elsewhere = success & records["region"].notna() & (records["region"] != fault.region)
    failures = done[(records["outcome"] == "failed") & (done >= fault.injected_at)]
    if failures.empty:
        served = done[elsewhere & (done >= fault.injected_at)]
        if served.empty:
            return _inconclusive(fault, "no failure and no request served by another region")
        return FailoverResult(status="seamless", value=0.0, served_elsewhere_at=float(served.min()),
                              reason="no request failed after the region went down", **base)
    first_failure = float(failures.min())
    served = done[elsewhere & (done >= first_failure)]
    if served.empty:
        return FailoverResult(status="never", value=math.inf, first_failure_at=first_failure,
                              reason="no other region served a request afterwards", **base)
    at = float(served.min())
    return FailoverResult(status="failed_over", value=at - first_failure, first_failure_at=first_failure,
                          served_elsewhere_at=at, reason="", **base)


def _with_failback(result: FailoverResult, fault: FaultWindow, records: pd.DataFrame, done: pd.Series,
                   success: pd.Series) -> FailoverResult:
    if fault.rolled_back_at is None:
        return result
    home = done[success & (records["region"] == fault.region) & (done >= fault.rolled_back_at)]
    if home.empty:
        return result.model_copy(update={"failback": math.inf})
    at = float(home.min())
    return result.model_copy(update={"failback": at - fault.rolled_back_at, "served_home_at": at})
