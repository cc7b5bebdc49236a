"""A short Markdown summary for a PR comment or the GitHub Actions job summary."""

from __future__ import annotations

import os
from pathlib import Path

from brownout.reports.fmt import format_margin, format_value
from brownout.reports.models import ObjectiveResult
from brownout.reports.results import RunResults

__all__ = ["PHASE_ROWS", "STATUS_BADGES", "VERDICT_BADGES", "phase_cell", "render_markdown", "write_markdown"]

VERDICT_BADGES = {"passed": "✅ passed", "failed": "❌ failed", "aborted": "🛑 aborted",
                  "not_steady": "⚠️ not steady", "error": "💥 error", "interrupted": "⏹️ interrupted"}
STATUS_BADGES = {"pass": "✅ pass", "fail": "❌ fail", "inconclusive": "❔ inconclusive"}

PHASE_ROWS: list[tuple[str, str, str, str | None, bool]] = [
    # label, metric (for units), attribute or latency metric, stat, adjusted
    ("requests", "", "requests", None, False),
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


def phase_cell(results: RunResults, phase: str, row: tuple[str, str, str, str | None, bool]) -> str:
    _, metric, attr, stat, adjusted = row
    window = results.phases.get(phase)
    if window is None:
        return "—"
    if stat is None:
        value = getattr(window, attr)
        return str(value) if attr == "requests" else format_value(value, metric)
    stats = (window.latency_adjusted if adjusted else window.latency)[attr]
    return format_value(getattr(stats, stat), metric)


def _objective_rows(rows: list[ObjectiveResult]) -> list[str]:
    return [
        f"| {_escape(r.name)} | `{_escape(r.label)}` | {r.phase} | {format_value(r.actual, r.metric)} | "
        f"{format_margin(r.margin, r.margin_unit)} | {STATUS_BADGES[r.status]}"
        + (" (counted as pass)" if r.status == "inconclusive" and r.passed else "") + " |"
        for r in rows
    ]


def render_markdown(results: RunResults) -> str:
    score = "n/a" if results.score is None else f"{results.score:.0f}/100"
    lines = [
        f"### brownout · {results.experiment}: {VERDICT_BADGES[results.verdict]} · resilience score {score}",
        "",
    ]
    if results.message:
        lines += [f"> {results.message}", ""]
    if results.slos:
        lines += ["| SLO | objective | phase | actual | margin | status |", "|---|---|---|---|---|---|"]
        lines += _objective_rows(results.slos) + [""]
    else:
        lines += ["_No SLOs defined._", ""]
    failed_steady = [r for r in results.steady_state if not r.passed]
    if failed_steady:
        lines += ["**Steady state did not hold:**", "", "| check | objective | phase | actual | margin | status |",
                  "|---|---|---|---|---|---|"] + _objective_rows(failed_steady) + [""]
    phases = [p for p in ("baseline", "fault", "recovery") if p in results.phases]
    if phases:
        lines += ["| metric | " + " | ".join(phases) + " |", "|---" * (len(phases) + 1) + "|"]
        lines += [f"| {row[0]} | " + " | ".join(phase_cell(results, p, row) for p in phases) + " |" for row in PHASE_ROWS]
        lines.append("")
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
