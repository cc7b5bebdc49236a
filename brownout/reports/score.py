"""The resilience score, 0..100, built from three explainable parts.

    score = 100 * sum(weight_i * value_i) / sum(weight_i)   over parts that apply

- slo_attainment (weight 0.60): severity-weighted mean of per-objective credit over
  the SLOs and the steady-state checks (critical 3, major 2, minor 1; a check is
  major), so a steady state that failed after recovery costs what a failed SLO
  would. Credit: pass 1; fail 0.5 * max(0, 1 - miss) with miss = shortfall /
  abs(threshold) (absolute when the threshold is 0); inconclusive for no data 0,
  or 1 when the SLO says `inconclusive: pass`. An objective a saturated harness
  could not judge is left out: it is evidence neither way.
- goodput_retained (0.25): min(1, goodput during fault / goodput during baseline);
  not applicable when the harness was saturated (goodput's limits are latencies).
- recovery (0.15): with `scoring.recovery_objective` R, 1 if time_to_recover <= R,
  falling linearly to 0 at 3R; without R, 1 if recovered; 0 if never recovered.

The score is given only to runs judged `passed` or `failed` (`results.SCORED_VERDICTS`).
A part that does not apply (no objectives, no baseline goodput, recovery not
judgeable) has value None and its weight is shared out among the others, so the
score never rewards or punishes missing data silently: the report shows it.
"""

from __future__ import annotations

import math

from brownout.spec.objectives import Scoring
from brownout.reports.fmt import format_value
from brownout.reports.models import (
    ObjectiveResult,
    RecoveryResult,
    ScoreComponent,
    WindowMetrics,
)

__all__ = [
    "SEVERITY_WEIGHTS",
    "WEIGHTS",
    "goodput_retained",
    "recovery_credit",
    "resilience_score",
    "slo_attainment",
    "slo_credit",
]

WEIGHTS = {"slo_attainment": 0.60, "goodput_retained": 0.25, "recovery": 0.15}
SEVERITY_WEIGHTS = {"critical": 3, "major": 2, "minor": 1}


def slo_credit(result: ObjectiveResult) -> float:
    """1 for a pass; up to 0.5 for a near miss, 0 at a 100% miss; inconclusive counts as its gate outcome."""
    if result.status != "fail" or result.actual is None:
        return 1.0 if result.passed else 0.0
    shortfall = abs(result.actual - result.threshold)
    miss = shortfall / abs(result.threshold) if result.threshold != 0 else shortfall
    return 0.0 if math.isinf(miss) else 0.5 * max(0.0, 1.0 - miss)


def slo_attainment(results: list[ObjectiveResult]) -> tuple[float | None, str]:
    """Severity-weighted mean credit of SLOs and steady-state checks, less those the harness could not
    judge; None when none is left."""
    judged = [r for r in results if r.inconclusive_reason != "harness"]
    left_out = f"; {len(results) - len(judged)} left out (harness saturated)" if len(judged) < len(results) else ""
    if not judged:
        return None, ("not applicable: no SLOs or steady-state checks" if not results
                      else f"not applicable: every objective's figure is untrustworthy{left_out}")
    total = sum(SEVERITY_WEIGHTS[r.severity] for r in judged)
    value = sum(SEVERITY_WEIGHTS[r.severity] * slo_credit(r) for r in judged) / total
    passed = sum(r.passed for r in judged)
    return value, (f"{passed} of {len(judged)} SLOs and steady-state checks passed; "
                   f"severity-weighted credit {value:.2f}{left_out}")


def goodput_retained(
    baseline: WindowMetrics | None, fault: WindowMetrics | None, *, harness_saturated: bool = False
) -> tuple[float | None, str]:
    """min(1, fault goodput / baseline goodput); None when either is missing, baseline is 0 or the harness saturated."""
    if harness_saturated:
        return None, "not applicable: the load generator was saturated (goodput's limits are latencies)"
    base = baseline.goodput if baseline else None
    during = fault.goodput if fault else None
    if not base or during is None:
        return None, (f"not applicable: baseline goodput {format_value(base, 'goodput')}, "
                      f"fault goodput {format_value(during, 'goodput')}")
    value = min(1.0, during / base)
    return value, f"goodput {format_value(during, 'goodput')} during the fault vs {format_value(base, 'goodput')} at baseline"


def recovery_credit(recovery: RecoveryResult, scoring: Scoring) -> tuple[float | None, str]:
    """Full within the recovery objective R, linear to 0 at 3R, 0 if never; without R, recovered or not;
    None when recovery could not be judged (inconclusive)."""
    if recovery.status == "inconclusive":
        return None, f"not applicable: {recovery.reason}"
    if recovery.status == "never":
        return 0.0, "never recovered to baseline"
    took = format_value(recovery.value, "time_to_recover")
    objective = scoring.recovery_objective
    if objective is None or recovery.value is None:
        return 1.0, f"recovered in {took} (no recovery objective set)"
    value = max(0.0, min(1.0, 1 - (recovery.value - objective) / (2 * objective)))
    return value, f"recovered in {took} against an objective of {format_value(objective, 'time_to_recover')}"


def resilience_score(
    objectives: list[ObjectiveResult],
    phases: dict[str, WindowMetrics],
    recovery: RecoveryResult,
    scoring: Scoring,
    *,
    harness_saturated: bool = False,
) -> tuple[float | None, list[ScoreComponent]]:
    """The 0..100 score and its parts over the SLOs and steady-state checks; None when no part applies."""
    parts = {
        "slo_attainment": slo_attainment(objectives),
        "goodput_retained": goodput_retained(phases.get("baseline"), phases.get("fault"),
                                             harness_saturated=harness_saturated),
        "recovery": recovery_credit(recovery, scoring),
    }
    applicable = sum(WEIGHTS[name] for name, (value, _) in parts.items() if value is not None)
    components = [
        ScoreComponent(
            name=name,
            weight=WEIGHTS[name],
            value=value,
            points=0.0 if value is None else 100 * WEIGHTS[name] * value / applicable,
            explanation=why,
        )
        for name, (value, why) in parts.items()
    ]
    score = sum(c.points for c in components) if applicable else None
    return score, components
