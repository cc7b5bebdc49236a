"""Window metrics of a run: per phase, per time bucket, and the run-level recovery metrics.

This module only assembles; every formula lives in `brownout.reports.metrics`
(one module per family) and is written out in shared/metrics.md. Phase
membership follows `brownout.reports.window` (a request belongs where its
`t_sched`, else its `t_send`, falls).
"""

from __future__ import annotations

import pandas as pd

from brownout.spec.experiment import Experiment
from brownout.spec.objectives import LATENCY_METRICS, WORKFLOW_STAT_METRICS, GoodputCriteria, Objective, Scoring
from brownout.rundata.timeline import Timeline
from brownout.reports.metrics import accuracy as answers
from brownout.reports.metrics import breakdown, failures, latency, outcomes, throughput
from brownout.reports.metrics import probes as probe_metrics
from brownout.reports.metrics import recovery as recovery_metrics
from brownout.reports.metrics.frames import probe_frame
from brownout.reports.metrics import sessions as session_metrics
from brownout.reports.metrics import workflows as workflow_metrics
from brownout.reports.metrics.table import RequestTable
from brownout.reports.models import (
    BucketMetrics,
    FailoverResult,
    LatencyStats,
    RecoveryResult,
    WindowMetrics,
)
from brownout.reports.window import (
    Window,
    bucket_windows,
    in_window,
    phase_windows,
    probes_in_window,
)

__all__ = ["bucket_series", "definitions", "objective_value", "phase_metrics", "window_metrics"]

_LATENCY_ORDER = ("ttft", "ttft_from_schedule", "itl", "tpot", "e2e", "schedule_lag")


def effective_scoring(spec: Experiment) -> Scoring:
    """`spec.scoring`, with goodput's per-request limits taken from the latency SLOs when none are set.

    Goodput is vLLM's "ok and met every latency SLO": with no explicit `scoring.goodput`,
    each upper-bound SLO on ttft, tpot or e2e (any statistic) becomes a per-request limit
    (the tightest one per metric), so goodput never silently degrades to plain throughput.
    """
    explicit = spec.scoring.goodput
    if any(getattr(explicit, name) is not None for name in _GOODPUT_METRICS):
        return spec.scoring
    limits: dict[str, float] = {}
    for slo in spec.slos:
        if slo.metric in _GOODPUT_METRICS and slo.op in ("<", "<=") and slo.threshold > 0:
            limits[slo.metric] = min(limits.get(slo.metric, slo.threshold), slo.threshold)
    if not limits:
        return spec.scoring
    return spec.scoring.model_copy(update={"goodput": GoodputCriteria(**limits)})


_GOODPUT_METRICS = ("ttft", "tpot", "e2e")


def _stats(records: pd.DataFrame, metric: str, adjusted: bool) -> LatencyStats:
    sample = latency.latency_samples(records, metric, adjusted=adjusted)
    return LatencyStats(n=int(sample.size), **latency.latency_stats(sample))


def window_metrics(
    records: pd.DataFrame, probes: pd.DataFrame, window: Window, scoring: Scoring, probe_names: list[str]
) -> WindowMetrics:
    """Every window metric over the requests and probe runs that fall in `window`; abandoned requests are only counted."""
    anchored = in_window(records, window)
    reqs = outcomes.judged(anchored)
    runs = probes_in_window(probes, window)
    counts = outcomes.count_outcomes(reqs)
    judged = answers.count_answers(runs, reqs)
    golden = sorted(set(runs.loc[runs["correct"].notna(), "probe"].astype(str)))
    return WindowMetrics(
        window=window.name,
        start=window.start,
        end=window.end,
        requests=counts.requests,
        abandoned=len(anchored) - len(reqs),
        ok=counts.ok,
        degraded=counts.degraded,
        errors=counts.errors,
        throttled=counts.throttled,
        success_rate=outcomes.success_rate(counts),
        degraded_rate=outcomes.degraded_rate(counts),
        error_rate=outcomes.error_rate(counts),
        throttle_rate=outcomes.throttle_rate(counts),
        error_budget_burn=outcomes.error_budget_burn(counts, scoring.error_budget),
        requests_per_s=throughput.requests_per_s(reqs, window.duration),
        output_tokens_per_s=throughput.output_tokens_per_s(records, window),
        goodput=throughput.goodput(reqs, window.duration, scoring.goodput),
        token_goodput=throughput.token_goodput(records, window, scoring.goodput),
        latency={m: _stats(reqs, m, False) for m in _LATENCY_ORDER},
        latency_adjusted={m: _stats(reqs, m, True) for m in _LATENCY_ORDER},
        probe_success_rate={name: probe_metrics.probe_success_rate(runs, name) for name in probe_names},
        accuracy=answers.accuracy(judged),
        accuracy_budget_burn=answers.accuracy_budget_burn(judged, scoring.accuracy_budget),
        accuracy_by_probe={name: answers.accuracy(answers.count_answers(runs, probe=name)) for name in golden},
        golden_answers=judged.golden,
        checked_requests=judged.load,
        wrong_answers=judged.judged - judged.correct,
        errors_by_class=failures.errors_by_class(reqs),
        errors_by_status=failures.errors_by_status(reqs),
        usage_mismatches=failures.count_usage_mismatches(reqs),
        token_sources=throughput.token_sources(reqs),
        anomalies=failures.count_anomalies(reqs),
        **_chains(records, reqs, window),
    )


def _chains(records: pd.DataFrame, reqs: pd.DataFrame, window: Window) -> dict[str, object]:
    """Session and workflow metrics of the sessions and workflows that started in `window` (judged whole,
    from all their records), and TTFT by turn of the window's own requests."""
    sessions = session_metrics.sessions_in_window(session_metrics.session_fates(records), window)
    flows = workflow_metrics.workflows_in_window(workflow_metrics.workflow_fates(records), window)
    return {
        "sessions": int((sessions["fate"] != "unfinished").sum()),
        "sessions_broken": int((sessions["fate"] == "broken").sum()),
        "sessions_unfinished": int((sessions["fate"] == "unfinished").sum()),
        "session_survival_rate": session_metrics.session_survival_rate(sessions),
        "ttft_by_turn": {t: LatencyStats(**v) for t, v in session_metrics.ttft_by_turn(reqs).items()},
        "workflows": int((flows["fate"] != "unfinished").sum()),
        "workflows_unfinished": int((flows["fate"] == "unfinished").sum()),
        "workflow_success_rate": workflow_metrics.workflow_success_rate(flows),
        "workflow_steps": LatencyStats(**workflow_metrics.workflow_steps(flows)),
        "workflow_e2e": LatencyStats(**workflow_metrics.workflow_e2e(flows)),
    }


def phase_metrics(
    records: pd.DataFrame, probes: pd.DataFrame, timeline: Timeline, scoring: Scoring, probe_names: list[str]
) -> dict[str, WindowMetrics]:
    """Window metrics of baseline, fault, recovery and run, for the phases the run reached."""
    return {
        name: window_metrics(records, probes, window, scoring, probe_names)
        for name, window in phase_windows(timeline).items()
    }


def bucket_series(
    records: pd.DataFrame, timeline: Timeline, scoring: Scoring, probes: pd.DataFrame | None = None
) -> list[BucketMetrics]:
    """Chart metrics per `scoring.bucket` from the run's start to its end (warmup included, for context).

    Only full buckets: a last, partial one holds a few requests and would draw a false dip.
    """
    end = timeline.run_end if timeline.run_end is not None else max((p.end for p in timeline.phases), default=None)
    if end is None:
        return []
    table = RequestTable.build(records, scoring.goodput)
    judged = answers.AnswerTable.build(probe_frame(probes), records)
    series = []
    for window in bucket_windows(timeline.run_start, end, scoring.bucket, full_only=True):
        at = table.span(window)
        counts = table.counts(at)
        ttft = table.sample(at, "ttft", adjusted=False)
        series.append(BucketMetrics(
            start=window.start,
            end=window.end,
            requests=counts.requests,
            abandoned=table.abandoned_in(window),
            success_rate=outcomes.success_rate(counts),
            degraded_rate=outcomes.degraded_rate(counts),
            error_rate=outcomes.error_rate(counts),
            throttle_rate=outcomes.throttle_rate(counts),
            requests_per_s=throughput.per_second(counts.success, counts.requests, window.duration),
            output_tokens_per_s=throughput.per_second(table.output_tokens(window), counts.requests, window.duration),
            goodput=throughput.per_second(table.goodput_requests(at), counts.requests, window.duration),
            ttft_p50=latency.percentile(ttft, 50),
            ttft_p95=latency.percentile(ttft, 95),
            ttft_p95_adjusted=latency.percentile(table.sample(at, "ttft", adjusted=True), 95),
            accuracy=judged.accuracy(window),
            latency=breakdown.bucket_latency(table, at),
            errors_by_class=breakdown.class_counts(table, at),
            regions=breakdown.region_counts(table, at),
        ))
    return series


def objective_value(
    objective: Objective,
    window: WindowMetrics | None,
    recovery: RecoveryResult,
    failovers: list[FailoverResult],
) -> float | None:
    """The actual value an objective is judged on; None when there is no data.

    time_to_recover, failover_time and failback_time belong to the run, whatever the
    objective's phase; failover and failback times are the worst region fault's.
    """
    metric = objective.metric
    if metric == "time_to_recover":
        return recovery.value
    if metric == "failover_time":
        values = [f.value for f in failovers if f.value is not None]
        return max(values) if values else None
    if metric == "failback_time":
        values = [f.failback for f in failovers if f.failback is not None]
        return max(values) if values else None
    if window is None:
        return None
    if metric in LATENCY_METRICS:
        stats = (window.latency_adjusted if objective.adjusted else window.latency)[metric]
        return getattr(stats, objective.stat)
    if metric == "probe_success_rate":
        return window.probe_success_rate.get(objective.probe)
    if metric == "accuracy" and objective.probe is not None:
        return window.accuracy_by_probe.get(objective.probe)
    if metric in WORKFLOW_STAT_METRICS:
        return getattr(getattr(window, metric), objective.stat)
    return getattr(window, metric)


_DOCUMENTED = {
    "success_rate": outcomes.success_rate,
    "degraded_rate": outcomes.degraded_rate,
    "error_rate": outcomes.error_rate,
    "throttle_rate": outcomes.throttle_rate,
    "error_budget_burn": outcomes.error_budget_burn,
    "requests_per_s": throughput.requests_per_s,
    "output_tokens_per_s": throughput.output_tokens_per_s,
    "goodput": throughput.goodput,
    "token_goodput": throughput.token_goodput,
    "time_to_recover": recovery_metrics.time_to_recover,
    "failover_time": recovery_metrics.failover_time,
    "failback_time": recovery_metrics.failover_time,
    "probe_success_rate": probe_metrics.probe_success_rate,
    "accuracy": answers.accuracy,
    "accuracy_budget_burn": answers.accuracy_budget_burn,
    "percentile": latency.percentile,
    "session_survival_rate": session_metrics.session_survival_rate,
    "ttft_by_turn": session_metrics.ttft_by_turn,
    "workflow_success_rate": workflow_metrics.workflow_success_rate,
    "workflow_steps": workflow_metrics.workflow_steps,
    "workflow_e2e": workflow_metrics.workflow_e2e,
}


def definitions() -> dict[str, str]:
    """Metric name -> formula, read from each metric's `Formula:` docstring, for the report."""
    out = {name: f"{formula}. Unit: seconds. Lower is better." for name, formula in latency.FORMULAS.items()}
    for name, func in _DOCUMENTED.items():
        doc = " ".join((func.__doc__ or "").split())
        out[name] = doc.split("Formula:", 1)[1].strip() if "Formula:" in doc else doc
    return out
