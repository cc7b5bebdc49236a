"""The harness self-check: could the load generator keep up, so that its latency figures can be trusted?

A saturated load generator sends late and times late: its latencies are inflated, and the target
got less load than planned, so neither a latency pass nor a latency fail means anything. Past
any limit of `scoring.self_check` every latency objective becomes inconclusive for the harness
(not for lack of data); availability objectives still count (shared/metrics.md, "Harness
self-check").
"""

from __future__ import annotations

import pandas as pd

from brownout.spec.objectives import LATENCY_METRICS, SelfCheckLimits
from brownout.reports.fmt import format_pair
from brownout.reports.metrics import per_request, percentile
from brownout.reports.models import HarnessCheck, ObjectiveResult
from brownout.rundata.harness import HarnessObservations

__all__ = ["FIGURES", "HARNESS_SENSITIVE", "SATURATED", "judge_harness", "schedule_lag_p99", "untrusted"]

SATURATED = "the load generator was saturated"
_MACHINE = "the machine was saturated"
_MACHINE_FIGURES = frozenset({"cpu_pressure", "steal"})
"""Figures of the whole machine (PSI, steal): their reason names the machine, not the load generator."""

FIGURES = {
    "load_cpu_share": "load-process CPU share",
    "schedule_lag_p99": "schedule lag p99",
    "loop_lag_p99": "event-loop lag p99",
    "cpu_pressure": "CPU pressure",
    "steal": "CPU steal",
}
"""The judged figures, as the report names them; each has the limit of the same name in `scoring.self_check`."""

HARNESS_SENSITIVE = LATENCY_METRICS | {"goodput", "token_goodput", "workflow_e2e"}
"""Metrics a saturated harness falsifies: the latencies (a workflow's end-to-end time too), and goodput, whose
per-request limits are latencies."""


def schedule_lag_p99(records: pd.DataFrame) -> float | None:
    """Formula: nearest-rank p99 of t_send - t_sched over sent requests of any outcome (the target plays
    no part in when the harness sends). None in closed loop (no t_sched) or without a sent request."""
    lag = per_request(records, "schedule_lag")
    return percentile(lag[lag.notna()].to_numpy(dtype=float), 99)


def judge_harness(
    observations: HarnessObservations | None, records: pd.DataFrame, limits: SelfCheckLimits
) -> HarnessCheck:
    """Saturated when any figure exceeds its limit (strictly); one reason line per exceeded limit.

    A figure not measured (None) is not judged, so without observations only the records (schedule lag,
    arrivals dropped as the load generator's backlog) can find the harness saturated. Disabled: nothing is judged.
    """
    observed = observations or HarnessObservations()
    lag = schedule_lag_p99(records)
    values = {name: lag if name == "schedule_lag_p99" else getattr(observed, name) for name in FIGURES}
    bounds = {name: float(getattr(limits, name)) for name in FIGURES}
    reasons = []
    for name, value in values.items():
        if limits.enabled and value is not None and value > bounds[name]:
            shown, limit = format_pair(value, bounds[name], name)
            reasons.append(f"{_MACHINE if name in _MACHINE_FIGURES else SATURATED}: {FIGURES[name]} {shown} > {limit}")
    backlog = int((records["drop_reason"] == "load_backlog").sum()) if "drop_reason" in records else 0
    if limits.enabled and backlog:
        reasons.append(f"{SATURATED}: {backlog} arrival{'s' if backlog != 1 else ''} dropped as its own backlog "
                       "(it could not send them on time; not the target's errors)")
    return HarnessCheck(saturated=bool(reasons), enabled=limits.enabled, reasons=reasons, schedule_lag_p99=lag,
                        observations=observed, limits=bounds)


def untrusted(result: ObjectiveResult, check: HarnessCheck) -> ObjectiveResult:
    """The result, or, when the harness was saturated and it judged a harness-sensitive metric on data,
    the same as inconclusive for the harness: not passed, its message naming why.

    Without data it stays inconclusive for no data (and fails as such): there was nothing to distrust.
    """
    if not check.saturated or result.metric not in HARNESS_SENSITIVE or result.actual is None:
        return result
    return result.model_copy(update={
        "status": "inconclusive", "inconclusive_reason": "harness", "passed": False,
        "message": f"{'; '.join(check.reasons)}; {result.message}",   # the status says inconclusive already
    })
