"""The last lines a run prints: verdict, score and why, the SLOs as a compact table, the top error classes,
each fault's impact. Built from the results alone, so a pass shows its table as a failure does."""

from __future__ import annotations

from brownout.reports.failures import counts_text
from brownout.reports.fmt import format_margin, format_pair, format_score
from brownout.reports.impact_text import impact_line
from brownout.reports.models import ObjectiveResult
from brownout.reports.results import SCORED_VERDICTS, RunResults

__all__ = ["final_lines", "score_line", "slo_rows"]

_MARKS = {"pass": "✓", "fail": "✗", "inconclusive": "?"}


def score_line(results: RunResults) -> str:
    """`resilience score: 62/100 = slo_attainment 40 + goodput_retained 12 + recovery 10 (n/a: ...)`."""
    score = results.comparable_score()
    if score is None or results.verdict not in SCORED_VERDICTS:
        return "resilience score: — (only runs that passed or failed are scored)"
    parts = [f"{c.name} {c.points:.0f}" for c in results.score_components if c.value is not None]
    skipped = [c.name for c in results.score_components if c.value is None]
    why = " + ".join(parts) + (f" (n/a, weight shared out: {', '.join(skipped)})" if skipped else "")
    return f"resilience score: {format_score(score)}/100 = {why}"


def slo_rows(objectives: list[ObjectiveResult]) -> list[str]:
    """One aligned row per objective: mark, name, phase, actual vs threshold, margin, status."""
    cells = [(f"{_MARKS[r.status]} {r.name}", f"[{r.phase}]",
              f"{r.label.split(' ')[0]} {format_pair(r.actual, r.threshold, r.metric)[0]} {r.op} "
              f"{format_pair(r.actual, r.threshold, r.metric)[1]}",
              format_margin(r.margin, r.margin_unit), r.status) for r in objectives]
    widths = [max((len(row[i]) for row in cells), default=0) for i in range(4)]
    return ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + f"  {row[4]}" for row in cells]


def final_lines(results: RunResults) -> list[str]:
    """Score and why, SLO table, top error classes over the run, one impact line per fault."""
    lines = [score_line(results)]
    if results.slos:
        lines += ["SLOs:", *slo_rows(results.slos)]
    run = results.phases.get("run")
    if run is not None:
        top = counts_text(run.errors_by_class)
        lines.append(f"top error classes: {top}" if top else "top error classes: none (no request failed)")
    t0 = results.timeline.run_start
    lines += [f"impact: {impact_line(impact, t0)}" for impact in results.impacts]
    return lines
