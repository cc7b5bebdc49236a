"""The HTML report: one self-contained file (inline CSS, inline SVG, no script, no network).

Everything shown is computed here or earlier; the Jinja2 template only lays it out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from brownout.rundata.timeline import FAULT_DRIFT_WARNING
from brownout.reports.failures import arrivals_line, class_table, usage_line
from brownout.reports.accuracy import accuracy_view
from brownout.reports.fmt import format_margin, format_pair, format_score, format_time, format_value
from brownout.reports.impact_text import impact_line, impact_row
from brownout.reports.markdown import SATURATED_BANNER, fault_timings, status_note
from brownout.reports.phases import phase_table
from brownout.reports.models import HarnessCheck, ObjectiveResult
from brownout.reports.results import SCORED_VERDICTS, RunResults
from brownout.reports.run_charts import failure_chart, timeline_charts
from brownout.reports.selfcheck import FIGURES

__all__ = ["STATUS_BADGES", "VERDICT_BADGES", "harness_rows", "render_html", "template_env", "write_html"]

# Symbols every stock font has (DejaVu, Liberation): the Markdown's emoji render as empty boxes on a
# machine without a colour-emoji font, and the report must read the same everywhere.
VERDICT_BADGES = {"passed": "✓ passed", "failed": "✗ failed", "inconclusive": "? inconclusive", "aborted": "■ aborted",
                  "not_steady": "⚠ not steady", "error": "✗ error", "interrupted": "■ interrupted"}
STATUS_BADGES = {"pass": "✓ pass", "fail": "✗ fail", "inconclusive": "? inconclusive"}
_CONTEXT = {"loop_lag_max": "event-loop lag max", "load_per_core": "load average per core", "cores": "cores"}
"""Observations shown for context, judged against no limit."""


def _detail(detail: dict[str, Any]) -> str:
    """An event's detail as `key: value` pairs, lists joined, for the events table."""
    return "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in detail.items())


def _actual(result: ObjectiveResult) -> str:
    return format_pair(result.actual, result.threshold, result.metric)[0]


def _threshold(result: ObjectiveResult) -> str:
    return f"{result.op} {format_pair(result.actual, result.threshold, result.metric)[1]}"


def _drift(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:+.2f} s"


def harness_rows(check: HarnessCheck) -> list[tuple[str, str, str, str]]:
    """(figure, observed, limit, state) for the self-check table: judged figures first, then context."""
    rows = []
    for name, label in FIGURES.items():
        value = check.schedule_lag_p99 if name == "schedule_lag_p99" else getattr(check.observations, name)
        limit = check.limits.get(name)
        if limit is None:     # results written before the self-check existed
            rows.append((label, format_value(value, name), "—", "not judged"))
            continue
        shown, bound = format_pair(value, limit, name)
        state = ("not measured" if value is None else "not judged (self-check off)" if not check.enabled
                 else "over the limit" if value > limit else "within")
        rows.append((label, shown, f"≤ {bound}", state))
    rows += [(label, format_value(getattr(check.observations, name), name), "—", "context")
             for name, label in _CONTEXT.items()]
    return rows


def _steady_state(results: RunResults) -> tuple[str, str]:
    """The steady-state card: (text, status class); checks only a saturated harness left unmet are not judged."""
    unmet = [r for r in results.steady_state if not r.passed]
    if not unmet:
        return "held", "pass"
    if all(r.inconclusive_reason == "harness" for r in unmet):
        return "not judged (harness saturated)", "inconclusive"
    return "did not hold", "fail"


def template_env() -> Environment:
    """The report templates with brownout's formatting filters (shared by the run report and the trends index)."""
    env = Environment(loader=PackageLoader("brownout.reports", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["value"] = format_value
    env.filters["margin"] = format_margin
    env.filters["clock"] = format_time
    env.filters["detail"] = _detail
    env.filters["actual"] = _actual
    env.filters["threshold"] = _threshold
    env.filters["drift"] = _drift
    env.filters["score"] = format_score
    env.filters["status_note"] = status_note
    return env


def render_html(results: RunResults) -> str:
    t0 = results.timeline.run_start
    failure_phases, failure_rows = class_table(results)
    context = dict(
        r=results,
        verdict_badge=VERDICT_BADGES[results.verdict],
        status_badges=STATUS_BADGES,
        charts=[Markup(svg) for svg in timeline_charts(results)],
        phase_table=phase_table(results),
        impacts=[(i, impact_line(i, t0), impact_row(i, t0)) for i in results.impacts],
        back_at={(i.fault, i.injected_at): i for i in results.impacts},
        spec_yaml=yaml.safe_dump(results.spec, sort_keys=False, allow_unicode=True),
        events=sorted(results.timeline.events, key=lambda e: e.t),
        t0=t0,
        scored=results.verdict in SCORED_VERDICTS,
        score=results.comparable_score(),
        steady=_steady_state(results),
        saturated_banner=SATURATED_BANNER,
        harness_rows=harness_rows(results.harness),
        fault_timings=fault_timings(results.timeline),
        drift_warning=FAULT_DRIFT_WARNING,
        failure_phases=failure_phases,
        failure_rows=failure_rows,
        failure_chart=Markup(failure_chart(results)) if failure_rows else "",
        failure_notes=[line for line in (usage_line(results), arrivals_line(results)) if line],
        accuracy=accuracy_view(results),
    )
    return template_env().get_template("report.html.j2").render(**context)


def write_html(results: RunResults, path: Path) -> Path:
    path = Path(path)
    path.write_text(render_html(results), encoding="utf-8")
    return path
