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
from brownout.reports.charts import Band, Chart, Line, Marker, StackedBars, render_chart, render_stacked_bars
from brownout.reports.failures import arrivals_line, class_table, usage_line
from brownout.reports.accuracy import accuracy_view
from brownout.reports.fmt import format_margin, format_pair, format_score, format_time, format_value
from brownout.reports.markdown import PHASE_ROWS, SATURATED_BANNER, fault_timings, phase_cell, status_note
from brownout.reports.models import HarnessCheck, ObjectiveResult
from brownout.reports.results import SCORED_VERDICTS, RunResults
from brownout.reports.selfcheck import FIGURES

__all__ = ["STATUS_BADGES", "VERDICT_BADGES", "failure_chart", "harness_rows", "render_html", "template_env", "timeline_charts",
           "write_html"]

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


def timeline_charts(results: RunResults) -> list[str]:
    """Throughput (requests, tokens), outcome rates and TTFT over time buckets, fault windows shaded, events ticked."""
    t0 = results.timeline.run_start
    x = [(b.start + b.end) / 2 - t0 for b in results.buckets]
    bands = [Band(f.injected_at - t0, (f.rolled_back_at or results.timeline.run_end or f.injected_at) - t0,
                  f"fault {f.fault} ({f.kind})")
             for f in results.timeline.faults if f.injected_at is not None]
    markers = [Marker(p.start - t0, p.name, strong=True) for p in results.timeline.phases]
    markers += [Marker(e.t - t0, f"{e.kind}: {e.name}") for e in results.timeline.events if e.kind != "phase_started"]
    recovery = results.recovery
    if recovery.recovered_at is not None and recovery.value is not None:  # time to recover, marked where it ends
        markers.append(Marker(recovery.recovered_at - t0,
                              f"recovered ({format_value(recovery.value, 'time_to_recover')})", strong=True))
    end = results.timeline.run_end or (results.buckets[-1].end if results.buckets else t0)
    common: dict[str, Any] = dict(x_max=end - t0, bands=bands, markers=markers)

    def series(attr: str) -> list[float | None]:
        return [getattr(b, attr) for b in results.buckets]

    charts = [
        Chart("Throughput (requests/s)", x, [
            Line("answered", series("requests_per_s")),
            Line("goodput", series("goodput"), "#16a34a"),
        ], **common),
        Chart("Output tokens/s", x, [Line("output tokens/s", series("output_tokens_per_s"), "#0891b2")], **common),
        Chart("Outcome rates", x, [
            Line("success", series("success_rate"), "#16a34a"),
            Line("degraded", series("degraded_rate"), "#d97706"),
            Line("error", series("error_rate"), "#dc2626"),
            Line("throttled", series("throttle_rate"), "#7c3aed"),
        ], y_format="{:.0%}", y_max=1.0, **common),
        Chart("TTFT (s)", x, [
            Line("p95", series("ttft_p95"), "#2563eb"),
            Line("p50", series("ttft_p50"), "#0891b2"),
            Line("p95 adjusted (failed = ∞)", series("ttft_p95_adjusted"), "#dc2626"),
        ], **common),
    ]
    return [render_chart(c) for c in charts]


def failure_chart(results: RunResults) -> str:
    """Failed requests per phase, stacked by error class (HTTP statuses are in the table only: they overlap)."""
    phases, rows = class_table(results)
    series = [(label, counts) for label, counts in rows if not label.startswith("HTTP ")]
    return render_stacked_bars(StackedBars("Failed requests by error class", phases, series))


def render_html(results: RunResults) -> str:
    t0 = results.timeline.run_start
    failure_phases, failure_rows = class_table(results)
    context = dict(
        r=results,
        verdict_badge=VERDICT_BADGES[results.verdict],
        status_badges=STATUS_BADGES,
        charts=[Markup(svg) for svg in timeline_charts(results)],
        phase_names=[p for p in ("baseline", "fault", "recovery", "run") if p in results.phases],
        phase_rows=[(row[0], {p: phase_cell(results, p, row) for p in results.phases}) for row in PHASE_ROWS],
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
