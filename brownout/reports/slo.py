"""Evaluate SLOs and steady-state checks: actual vs threshold, signed margin, status.

Status is `inconclusive` when the window has no data for the metric; it fails
the gate unless the SLO says `inconclusive: pass` (steady-state checks always
fail on it: no evidence of a steady state is not a steady state).
Margins are signed, positive when the objective holds: relative to the
threshold, except for rates (0..1) and zero thresholds, where they are absolute.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

import pandas as pd

from brownout.spec.experiment import Experiment
from brownout.spec.objectives import Objective
from brownout.rundata.timeline import Timeline
from brownout.rundata.probes import ProbeResult
from brownout.reports.fmt import RATE_METRICS, format_pair
from brownout.reports.metrics.frames import probe_frame, request_frame
from brownout.reports.models import FailoverResult, ObjectiveResult, RecoveryResult, WindowMetrics
from brownout.reports.scoring import effective_scoring, objective_value, window_metrics
from brownout.reports.window import Window

__all__ = ["evaluate", "evaluate_slos", "evaluate_steady_state", "margin", "steady_state_held", "steady_state_windows"]

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def margin(actual: float | None, op: str, threshold: float, metric: str) -> tuple[float | None, str]:
    """Signed room to the threshold (> 0 holds) and its unit, `relative` or `absolute`."""
    if actual is None:
        return None, "relative"
    room = actual - threshold if op in (">", ">=") else threshold - actual
    if metric in RATE_METRICS or threshold == 0:
        return room, "absolute"
    return room / abs(threshold), "relative"


def evaluate(
    objective: Objective,
    actual: float | None,
    *,
    name: str,
    kind: str,
    phase: str,
    severity: str = "major",
    inconclusive_passes: bool = False,
) -> ObjectiveResult:
    """Judge one objective on its actual value."""
    room, unit = margin(actual, objective.op, objective.threshold, objective.metric)
    shown, limit = format_pair(actual, objective.threshold, objective.metric)
    wanted = f"{objective.op} {limit}"
    if actual is None:
        status = "inconclusive"
        message = f"no data for {objective.metric} in the {phase} window (threshold {wanted})"
    else:
        status = "pass" if _OPS[objective.op](actual, objective.threshold) else "fail"
        message = f"actual {shown} vs threshold {wanted}"
    return ObjectiveResult(
        name=name, label=objective.label(), kind=kind, phase=phase, metric=objective.metric,
        actual=actual, op=objective.op, threshold=objective.threshold, margin=room, margin_unit=unit,
        status=status, inconclusive_reason="no_data" if actual is None else None,
        passed=status == "pass" or (status == "inconclusive" and inconclusive_passes),
        severity=severity, message=message,
    )


def evaluate_slos(
    spec: Experiment, phases: dict[str, WindowMetrics], recovery: RecoveryResult, failovers: list[FailoverResult]
) -> list[ObjectiveResult]:
    """Every SLO of the experiment over its phase window."""
    return [
        evaluate(
            slo, objective_value(slo, phases.get(slo.phase), recovery, failovers),
            name=slo.name, kind="slo", phase=slo.phase, severity=slo.severity,
            inconclusive_passes=slo.inconclusive == "pass",
        )
        for slo in spec.slos
    ]


def evaluate_steady_state(
    spec: Experiment,
    records: pd.DataFrame | None,
    probes: pd.DataFrame | Iterable[ProbeResult] | None,
    start: float,
    end: float,
    *,
    label: str = "before faults",
) -> list[ObjectiveResult]:
    """Steady-state probes and checks over `[start, end)`; the runner calls it live, before any fault."""
    steady = spec.steady_state
    window = Window(label, start, end)
    names = sorted(set(steady.probes) | {c.probe for c in steady.checks if c.probe})
    metrics = window_metrics(request_frame(records), probe_frame(probes), window, effective_scoring(spec), names)
    not_run_level = RecoveryResult(status="inconclusive", value=None, reason="not a window metric")
    checks = [
        (f"probe-{probe}", Objective(metric="probe_success_rate", probe=probe, op=">=", threshold=steady.min_probe_success))
        for probe in steady.probes
    ] + [(check.name, check) for check in steady.checks]
    return [
        evaluate(check, objective_value(check, metrics, not_run_level, []), name=name, kind="steady_state", phase=label)
        for name, check in checks
    ]


def steady_state_windows(spec: Experiment, timeline: Timeline) -> list[Window]:
    """Where steady state is judged: the baseline, and the second half of recovery when asked to recheck
    (as the runner does live). A phase the run never reached is left out."""
    windows = []
    baseline = timeline.phase("baseline")
    if baseline is not None:
        windows.append(Window("before faults", baseline.start, baseline.end))
    recovery = timeline.phase("recovery")
    if spec.steady_state.recheck_after_recovery and recovery is not None:
        windows.append(Window("after recovery", (recovery.start + recovery.end) / 2, recovery.end))
    return windows


def steady_state_held(results: list[ObjectiveResult]) -> bool:
    return all(r.passed for r in results)
