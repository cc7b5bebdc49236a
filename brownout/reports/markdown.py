"""A short Markdown summary for a PR comment or the GitHub Actions job summary."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from brownout.rundata.timeline import FAULT_DRIFT_WARNING, FaultWindow, Timeline
from brownout.reports.accuracy import accuracy_lines
from brownout.reports.conversations import conversation_lines
from brownout.reports.failures import arrivals_line, failure_lines
from brownout.reports.fmt import format_margin, format_pair, format_score, format_value
from brownout.reports.impact_text import impact_line, impact_row
from brownout.reports.models import ObjectiveResult
from brownout.reports.phases import phase_table
from brownout.reports.results import RunResults

__all__ = ["STATUS_BADGES", "VERDICT_BADGES", "FaultTiming", "fault_timings", "render_markdown", "status_note",
           "write_markdown"]

VERDICT_BADGES = {"passed": "✅ passed", "failed": "❌ failed", "inconclusive": "❔ inconclusive", "aborted": "🛑 aborted",
                  "not_steady": "⚠️ not steady", "error": "💥 error", "interrupted": "⏹️ interrupted"}
STATUS_BADGES = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "❔ inconclusive"}
SATURATED_BANNER = "The load generator was saturated: latency figures are not trustworthy"



def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def status_note(result: ObjectiveResult) -> str:
    """What the status badge alone does not say: why an objective is inconclusive and whether that counts."""
    if result.inconclusive_reason == "harness":
        return " (harness saturated)"
    return " (counted as pass)" if result.status == "inconclusive" and result.passed else ""


@dataclass(frozen=True)
class FaultTiming:
    """One fault window against its schedule: drift = actual - planned (None when either is unknown)."""

    window: FaultWindow
    start_drift: float | None
    end_drift: float | None
    planned_duration: float | None
    duration: float | None

    @property
    def late(self) -> bool:
        """Went in or came out more than FAULT_DRIFT_WARNING off plan: its window is not the one the spec asked for."""
        return any(d is not None and abs(d) > FAULT_DRIFT_WARNING for d in (self.start_drift, self.end_drift))


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def fault_timings(timeline: Timeline) -> list[FaultTiming]:
    """Planned and actual start and duration of every fault window, in timeline order."""
    return [FaultTiming(f, _minus(f.injected_at, f.planned_inject_at), _minus(f.rolled_back_at, f.planned_rollback_at),
                        _minus(f.planned_rollback_at, f.planned_inject_at), _minus(f.rolled_back_at, f.injected_at))
            for f in timeline.faults]


def _off_plan(what: str, drift: float | None) -> str:
    if drift is None:
        return f"{what}: no planned or actual time"
    return f"{what} {abs(drift):.2f} s {'late' if drift >= 0 else 'early'}"


def _late_faults(timeline: Timeline) -> list[str]:
    late = [t for t in fault_timings(timeline) if t.late]
    if not late:
        return []
    lines = [f"**Late faults** (more than {FAULT_DRIFT_WARNING:g} s off their planned time):", ""]
    lines += [f"- `{t.window.fault}` ({t.window.kind}): {_off_plan('injected', t.start_drift)}, "
              f"{_off_plan('rolled back', t.end_drift)}; lasted {format_value(t.duration, 'e2e')} "
              f"of {format_value(t.planned_duration, 'e2e')} planned" for t in late]
    return lines + [""]


def _impact_lines(results: RunResults) -> list[str]:
    """One line per fault (what it hit, when, what it cost, when the service was back); a table for several."""
    t0 = results.timeline.run_start
    if not results.impacts:
        return []
    if len(results.impacts) == 1:
        return [f"**Impact:** {_escape(impact_line(results.impacts[0], t0))}", ""]
    lines = ["**Impact per fault:**", "", "| fault | hit | window | failed | error classes | worst success | latency | back |",
             "|---|---|---|---|---|---|---|---|"]
    for impact in results.impacts:
        r = impact_row(impact, t0)
        cells = [r.fault, r.hit, r.window, r.failed, r.classes, r.worst, r.latency, r.back]
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return lines + [""]


def _objective_rows(rows: list[ObjectiveResult]) -> list[str]:
    return [
        f"| {_escape(r.name)} | `{_escape(r.label)}` | {r.phase} | {format_pair(r.actual, r.threshold, r.metric)[0]} | "
        f"{format_margin(r.margin, r.margin_unit)} | {STATUS_BADGES[r.status]}{status_note(r)} |"
        for r in rows
    ]


def render_markdown(results: RunResults) -> str:
    score = "—" if results.comparable_score() is None else f"{format_score(results.comparable_score())}/100"
    lines = [
        f"### brownout · {results.experiment}: {VERDICT_BADGES[results.verdict]} · resilience score {score}",
        "",
    ]
    if results.message:
        lines += [f"> {results.message}", ""]
    lines += _impact_lines(results)
    if results.harness.saturated:
        lines += [f"> **⚠️ {SATURATED_BANNER}.** Latency objectives are inconclusive; availability still counts.", ">"]
        lines += [f"> - {_escape(reason)}" for reason in results.harness.reasons] + [""]
    if results.slos:
        lines += ["| SLO | objective | phase | actual | margin | status |", "|---|---|---|---|---|---|"]
        lines += _objective_rows(results.slos) + [""]
    else:
        lines += ["_No SLOs defined._", ""]
    failed_steady = [r for r in results.steady_state if not r.passed]
    if failed_steady:
        lines += ["**Steady state not met:**", "", "| check | objective | phase | actual | margin | status |",
                  "|---|---|---|---|---|---|"] + _objective_rows(failed_steady) + [""]
    table = phase_table(results, ("baseline", "fault", "recovery"))
    if table.phases:
        heads = [h for p in table.phases for h in ([p] + ([f"{p} vs baseline"] if p in table.compared else []))]
        lines += ["| metric | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
        lines += [f"| {row.label} | " + " | ".join(c for p in table.phases for c in
                                                    ([row.cells[p]] + ([row.changes[p]] if p in table.compared else [])))
                  + " |" for row in table.rows]
        lines.append("")
    failures = failure_lines(results)
    if failures:
        lines += ["**Failed how:**", ""] + [f"- {_escape(line)}" for line in failures] + [""]
    wrong = accuracy_lines(results)
    if wrong:
        lines += ["**Wrong answers:**", ""] + [f"- {_escape(line)}" for line in wrong] + [""]
    if arrivals_line(results):
        lines += [arrivals_line(results), ""]
    lines += [line for text in conversation_lines(results) for line in (_escape(text), "")]
    lines += _late_faults(results.timeline)
    recovery = results.recovery
    lines.append(f"Time to recover: **{format_value(recovery.value, 'time_to_recover')}** ({recovery.status}). "
                 + " ".join(f"Failover `{f.fault}` ({f.region}): **{format_value(f.value, 'failover_time')}**."
                            for f in results.failovers))
    if "html" in results.outputs:
        lines += ["", f"Full report: `{results.outputs['html']}`"]
    return "\n".join(lines) + "\n"


def write_markdown(results: RunResults, path: Path) -> Path:
    """Write the summary, and append it to `$GITHUB_STEP_SUMMARY` when that is set."""
    path = Path(path)
    text = render_markdown(results)
    path.write_text(text, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return path
