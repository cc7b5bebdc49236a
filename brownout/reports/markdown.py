"""A short Markdown summary for a PR comment or the GitHub Actions job summary."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from brownout.rundata.timeline import FAULT_DRIFT_WARNING, FaultWindow, Timeline
from brownout.reports.conversations import conversation_lines
from brownout.reports.failures import arrivals_line, failure_lines
from brownout.reports.fmt import format_margin, format_pair, format_score, format_value
from brownout.reports.models import ObjectiveResult
from brownout.reports.results import RunResults

__all__ = ["PHASE_ROWS", "STATUS_BADGES", "VERDICT_BADGES", "FaultTiming", "fault_timings", "phase_cell",
           "render_markdown", "status_note", "write_markdown"]

VERDICT_BADGES = {"passed": "✅ passed", "failed": "❌ failed", "inconclusive": "❔ inconclusive", "aborted": "🛑 aborted",
                  "not_steady": "⚠️ not steady", "error": "💥 error", "interrupted": "⏹️ interrupted"}
STATUS_BADGES = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "❔ inconclusive"}
SATURATED_BANNER = "The load generator was saturated: latency figures are not trustworthy"

PHASE_ROWS: list[tuple[str, str, str, str | None, bool]] = [
    # label, metric (for units), attribute or latency metric, stat, adjusted
    ("requests", "", "requests", None, False),
    ("abandoned by the harness (not counted)", "", "abandoned", None, False),
    ("success rate", "success_rate", "success_rate", None, False),
    ("degraded rate", "degraded_rate", "degraded_rate", None, False),
    ("error rate", "error_rate", "error_rate", None, False),
    ("throttle rate", "throttle_rate", "throttle_rate", None, False),
    ("TTFT p95", "ttft", "ttft", "p95", False),
    ("TTFT p95 (adjusted)", "ttft", "ttft", "p95", True),
    ("ITL p95", "itl", "itl", "p95", False),
    ("E2E p95", "e2e", "e2e", "p95", False),
    ("output tokens/s", "output_tokens_per_s", "output_tokens_per_s", None, False),
    ("goodput", "goodput", "goodput", None, False),
    ("error budget burn", "error_budget_burn", "error_budget_burn", None, False),
]
"""The rows of every phase comparison table (Markdown and HTML)."""


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


def phase_cell(results: RunResults, phase: str, row: tuple[str, str, str, str | None, bool]) -> str:
    _, metric, attr, stat, adjusted = row
    window = results.phases.get(phase)
    if window is None:
        return "—"
    if stat is None:
        value = getattr(window, attr)
        return str(value) if attr in ("requests", "abandoned") else format_value(value, metric)
    stats = (window.latency_adjusted if adjusted else window.latency)[attr]
    return format_value(getattr(stats, stat), metric)


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
    phases = [p for p in ("baseline", "fault", "recovery") if p in results.phases]
    if phases:
        lines += ["| metric | " + " | ".join(phases) + " |", "|---" * (len(phases) + 1) + "|"]
        lines += [f"| {row[0]} | " + " | ".join(phase_cell(results, p, row) for p in phases) + " |" for row in PHASE_ROWS]
        lines.append("")
    failures = failure_lines(results)
    if failures:
        lines += ["**Failed how:**", ""] + [f"- {_escape(line)}" for line in failures] + [""]
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
