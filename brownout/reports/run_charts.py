"""The charts of one run's report, built from its results: which series, which thresholds, which windows.

Every chart's x axis starts at the first bucket that holds a request (the sandbox's
boot is not drawn as an empty stretch) and ends with the run. Charts with nothing to
draw (ITL of a non-streaming run, regions without `served_by`, no failures) are left
out rather than drawn empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brownout.reports.charts import (
    PALETTE,
    Band,
    Chart,
    Line,
    Marker,
    StackedBars,
    Strip,
    StripRun,
    Threshold,
    render_chart,
    render_stacked_bars,
    render_strip,
)
from brownout.reports.failures import class_table
from brownout.reports.fmt import format_time, format_value
from brownout.reports.metrics.breakdown import CHART_LATENCY, CHART_PERCENTILES
from brownout.reports.results import RunResults

__all__ = ["failure_chart", "timeline_charts"]

_CHART_OF = {"success_rate": "rates", "degraded_rate": "rates", "error_rate": "rates", "throttle_rate": "rates",
             "requests_per_s": "throughput", "goodput": "throughput", "output_tokens_per_s": "tokens",
             "token_goodput": "tokens", **{m: m for m in CHART_LATENCY}}
"""Which chart draws an SLO's threshold, by its metric (others have no timeline chart)."""
_TITLES = {"ttft": "TTFT, time to first token", "itl": "ITL, inter-token latency", "e2e": "E2E, whole-request latency"}
_PERCENTILE_COLORS = {"p50": "#0891b2", "p95": "#2563eb", "p99": "#7c3aed"}


def _thresholds(results: RunResults, chart: str, scale: float = 1.0) -> list[Threshold]:
    """Dashed lines for the SLOs whose metric this chart draws, labelled with name, phase and bound."""
    return [Threshold(s.threshold * scale, f"SLO {s.name} [{s.phase}]: {s.label.split(' ')[0]} {s.op} "
                                           f"{format_value(s.threshold, s.metric)}")
            for s in results.slos if _CHART_OF.get(s.metric) == chart]


def _first_request(results: RunResults) -> float:
    """Start of the first bucket holding a request, seconds since run start (0 without any)."""
    t0 = results.timeline.run_start
    return next((b.start - t0 for b in results.buckets if b.requests or b.abandoned), 0.0)


def _common(results: RunResults) -> dict[str, Any]:
    t0 = results.timeline.run_start
    end = results.timeline.run_end or (results.buckets[-1].end if results.buckets else t0)
    bands = [Band(f.injected_at - t0, (f.rolled_back_at or results.timeline.run_end or f.injected_at) - t0,
                  f"fault {f.fault} ({f.kind}) {format_time(f.injected_at, t0)} to {format_time(f.rolled_back_at, t0)}",
                  f.fault)
             for f in results.timeline.faults if f.injected_at is not None]
    markers = [Marker(p.start - t0, p.name, strong=True) for p in results.timeline.phases]
    markers += [Marker(e.t - t0, f"{e.kind}: {e.name}") for e in results.timeline.events if e.kind != "phase_started"]
    recovery = results.recovery
    if recovery.recovered_at is not None and recovery.value is not None:  # time to recover, marked where it ends
        markers.append(Marker(recovery.recovered_at - t0,
                              f"recovered ({format_value(recovery.value, 'time_to_recover')})", strong=True))
    return dict(x=[b.start - t0 for b in results.buckets], x_min=_first_request(results), x_max=end - t0,
                bucket=results.bucket_width, bands=bands, markers=markers)


def _ms(value: float) -> str:
    return format_value(value, "ttft")


def _latency_chart(results: RunResults, metric: str, common: dict[str, Any]) -> Chart | None:
    """p50/p95/p99 of one latency metric in ms; None when no bucket has a sample (the workload lacks it)."""
    if not any(metric in b.latency for b in results.buckets):
        return None
    lines = [Line(f"p{p}", [None if (v := b.latency.get(metric, {}).get(f"p{p}")) is None else v * 1000
                            for b in results.buckets], _PERCENTILE_COLORS[f"p{p}"], width=1.4 + k)
             for k, p in enumerate(CHART_PERCENTILES)][::-1]     # p99 widest, drawn first: equal lines stay visible
    if metric == "ttft":
        lines.append(Line("p95 adjusted (failed = ∞)", [None if b.ttft_p95_adjusted is None else b.ttft_p95_adjusted * 1000
                                                       for b in results.buckets], "#dc2626"))
    return Chart(f"{_TITLES[metric]} (ms)", lines=lines, y_format="{:.4g}", value_format=lambda v: _ms(v / 1000),
                 thresholds=_thresholds(results, metric, 1000.0), **common)


def _counts_chart(title: str, series: dict[str, list[float]], common: dict[str, Any],
                  colors: Callable[[int], str]) -> Chart:
    return Chart(title, lines=[Line(label, list(values), colors(k)) for k, (label, values) in enumerate(series.items())],
                 stacked=True, y_format="{:.3g}", **common)


def _per_second(results: RunResults, attr: str) -> dict[str, list[float]]:
    """Label -> per-second rate per bucket of a per-bucket count breakdown, labels by total (most first)."""
    totals: dict[str, int] = {}
    for b in results.buckets:
        for label, count in getattr(b, attr).items():
            totals[label] = totals.get(label, 0) + count
    order = sorted(totals, key=lambda k: (-totals[k], k))
    return {label: [getattr(b, attr).get(label, 0) / max(b.end - b.start, 1e-9) for b in results.buckets]
            for label in order}


def _probe_strip(results: RunResults, common: dict[str, Any]) -> str | None:
    if not results.probe_series:
        return None
    t0 = results.timeline.run_start
    rows: dict[str, list[StripRun]] = {}
    for run in results.probe_series:
        tip = f"{run.probe} {format_time(run.t, t0)}: {'pass' if run.ok else 'FAIL: ' + run.reason}"
        rows.setdefault(run.probe, []).append(StripRun(run.t - t0, bool(run.ok), tip))
    return render_strip(Strip("Probes: pass (green) / fail (red)", list(rows.items()), x_max=common["x_max"],
                              x_min=common["x_min"], bands=common["bands"]))


def _gauge_charts(results: RunResults, common: dict[str, Any]) -> list[Chart]:
    """One small chart per sampled gauge (metrics.jsonl), a line per source; bytes in GiB."""
    by_metric: dict[str, list[Line]] = {}
    for series in results.gauges:
        scale = 2.0 ** -30 if series.metric.endswith("_bytes") else 1.0
        values = [None if v is None else v * scale for v in series.values]
        lines = by_metric.setdefault(series.metric, [])
        lines.append(Line(series.source, values, PALETTE[len(lines) % len(PALETTE)]))
    return [Chart(f"Gauge {metric}{' (GiB)' if metric.endswith('_bytes') else ''}, highest sample per bucket",
                  lines=lines, height=170, **common)
            for metric, lines in by_metric.items() if any(v is not None for line in lines for v in line.values)]


def timeline_charts(results: RunResults) -> list[str]:
    """Throughput, tokens, outcome rates, latency per metric, errors by class, requests by region, probes, gauges."""
    common = _common(results)

    def series(attr: str) -> list[float | None]:
        return [getattr(b, attr) for b in results.buckets]

    charts = [
        Chart("Throughput (requests/s)", lines=[
            Line("answered", series("requests_per_s"), "#93c5fd", width=4.0),
            Line("goodput (ok and within every latency SLO)", series("goodput"), "#16a34a"),
        ], thresholds=_thresholds(results, "throughput"), **common),
    ]
    if any(v for v in series("output_tokens_per_s")):
        charts.append(Chart("Output tokens/s", lines=[Line("output tokens/s", series("output_tokens_per_s"), "#0891b2")],
                            thresholds=_thresholds(results, "tokens"), **common))
    charts.append(Chart("Outcome rates", lines=[
        Line("success", series("success_rate"), "#16a34a", width=3.0),
        Line("degraded", series("degraded_rate"), "#d97706"),
        Line("error", series("error_rate"), "#dc2626"),
        Line("throttled", series("throttle_rate"), "#7c3aed", dash=True),
    ], y_format="{:.0%}", y_max=1.0, thresholds=_thresholds(results, "rates"), **common))
    charts += [c for c in (_latency_chart(results, m, common) for m in CHART_LATENCY) if c is not None]
    errors = _per_second(results, "errors_by_class")
    if errors:
        charts.append(_counts_chart("Failed requests/s by error class", errors, common,
                                    lambda k: ("#dc2626", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d")[k % 6]))
    regions = _per_second(results, "regions")
    if regions:
        charts.append(_counts_chart("Answered requests/s by region (served_by)", regions, common,
                                    lambda k: PALETTE[k % len(PALETTE)]))
    strip = _probe_strip(results, common)
    return [render_chart(c) for c in charts] + ([strip] if strip else []) + [
        render_chart(c) for c in _gauge_charts(results, common)]


def failure_chart(results: RunResults) -> str:
    """Failed requests per phase, stacked by error class (HTTP statuses are in the table only: they overlap)."""
    phases, rows = class_table(results)
    series = [(label, counts) for label, counts in rows if not label.startswith("HTTP ")]
    return render_stacked_bars(StackedBars("Failed requests by error class", phases, series))
