"""Sessions and workflows in words: the summary lines the Markdown (and console) show.

Counts come from the results (`SessionsSummary`, `WorkflowsSummary`, the phases'
rates); this module only words them. The HTML has its own partial
(templates/_sessions.html.j2).
"""

from __future__ import annotations

from brownout.reports.fmt import format_value
from brownout.reports.results import RunResults

__all__ = ["conversation_lines"]

_PHASES = ("baseline", "fault", "recovery")


def _by_phase(results: RunResults, attr: str) -> str:
    return ", ".join(f"{p} {format_value(getattr(results.phases[p], attr), attr)}" for p in _PHASES if p in results.phases)


def conversation_lines(results: RunResults) -> list[str]:
    """One line for sessions and one for workflows, each only when the run had them."""
    lines = []
    sessions = results.sessions
    if sessions is not None:
        line = (f"Sessions: {sessions.survived} of {sessions.survived + sessions.broken} survived every turn "
                f"(survival by start phase: {_by_phase(results, 'session_survival_rate')})")
        if sessions.broken_by:
            worst = sessions.broken_by[0]
            line += (f"; most broken: {worst.sessions} started in {worst.phase}, at turn {worst.turn} of {worst.turns} "
                     f"({worst.error_class})")
        lines.append(line + ".")
    flows = results.workflows
    if flows is not None:
        line = (f"Workflows: {flows.completed} of {flows.completed + flows.failed + flows.step_limit} reached a final "
                f"answer (success by start phase: {_by_phase(results, 'workflow_success_rate')})")
        if flows.failed_by:
            line += "; failed: " + ", ".join(f"{name} {count}" for name, count in flows.failed_by.items())
        lines.append(line + ".")
    return lines
