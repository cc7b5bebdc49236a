"""What the outputs say about accuracy: wrong answers per phase, and silent degradation named as such.

Silent degradation is a phase whose share of wrong answers is larger than its share of
failed requests: answers went wrong while the requests kept succeeding, the incident a
status-code dashboard cannot see. Pure: `RunResults` in, lines and rows out.
"""

from __future__ import annotations

from dataclasses import dataclass

from brownout.reports.fmt import format_value
from brownout.reports.models import WindowMetrics
from brownout.reports.results import RunResults
from brownout.rundata.probes import ProbeResult

__all__ = ["AccuracyView", "accuracy_lines", "accuracy_view"]

_PHASES = ("baseline", "fault", "recovery")
_SHOWN_WRONG = 10


def _silent(window: WindowMetrics) -> bool:
    return window.accuracy is not None and window.success_rate is not None and 1 - window.accuracy > 1 - window.success_rate


def accuracy_lines(results: RunResults) -> list[str]:
    """One line per phase with wrong answers: "fault: 12 of 20 judged answers were wrong (accuracy 40%) while
    100% of requests succeeded: silent degradation"."""
    lines = []
    for phase in _PHASES:
        window = results.phases.get(phase)
        if window is None or not window.wrong_answers:
            continue
        judged = window.golden_answers + window.checked_requests
        line = (f"{phase}: {window.wrong_answers} of {judged} judged answers were wrong "
                f"(accuracy {format_value(window.accuracy, 'accuracy')})")
        if _silent(window):
            line += f" while {format_value(window.success_rate, 'success_rate')} of requests succeeded: silent degradation"
        lines.append(line)
    return lines


@dataclass(frozen=True)
class AccuracyView:
    """What the report's accuracy section shows: per-phase rows, the lines above, the last wrong answers."""

    phases: list[WindowMetrics]
    lines: list[str]
    wrong: list[ProbeResult]


def accuracy_view(results: RunResults) -> AccuracyView | None:
    """None when the run judged no answer (no golden probe, no checked load request)."""
    phases = [results.phases[p] for p in _PHASES if p in results.phases]
    if not any(w.golden_answers or w.checked_requests for w in phases):
        return None
    wrong = [p for p in results.probe_series if p.correct is False][-_SHOWN_WRONG:]
    return AccuracyView(phases=phases, lines=accuracy_lines(results), wrong=wrong)
