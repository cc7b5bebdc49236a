"""Charts as inline SVG, drawn in Python at report time (no script, no network).

A timeline chart draws per-bucket values as steps (a bucket's value holds over its
whole width, so nothing seems to move before it did), with the fault windows shaded
and named, phase boundaries and events ticked, SLO thresholds dashed, and a hover
column per bucket whose title lists that bucket's values. Missing values (None)
break the line; an infinite value is drawn on the top edge, in the series' colour,
as a cross. A stacked chart piles its series (errors by class, requests by region).
A strip (`render_strip`) shows pass/fail runs per row (probes); a stacked bar chart
(`render_stacked_bars`) shows counts per category (failed requests per phase).
Hand-written SVG stays: the report is one offline file, and a charting library
would add more script than the whole report weighs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

__all__ = ["Band", "Chart", "Line", "Marker", "Point", "StackedBars", "Strip", "StripRun", "Threshold", "render_chart",
           "render_stacked_bars", "render_strip"]

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


@dataclass(frozen=True)
class Line:
    label: str
    values: list[float | None]
    color: str = ""
    width: float = 1.8      # a wide, light line under a thin one keeps both visible where they agree
    dash: bool = False


@dataclass(frozen=True)
class Band:
    """A shaded span of time (a fault window), named on the chart."""

    start: float
    end: float
    label: str
    name: str = ""          # drawn inside the band; `label` is its hover text


@dataclass(frozen=True)
class Marker:
    """A vertical tick at one time (a phase boundary or an event)."""

    t: float
    label: str
    strong: bool = False


@dataclass(frozen=True)
class Point:
    """One value drawn as a dot of its own colour, with a hover text (a run on the trends page)."""

    t: float
    value: float
    color: str
    tooltip: str


@dataclass(frozen=True)
class Threshold:
    """A horizontal dashed line: an SLO's threshold on its metric's chart."""

    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    x: list[float]                      # seconds since run start, one per value: bucket starts when `bucket` > 0
    lines: list[Line]
    x_max: float                        # right edge: the run's length
    x_min: float = 0.0                  # left edge: the first request
    bucket: float = 0.0                 # bucket width: values drawn as steps; 0: a line through the points
    stacked: bool = False               # lines piled up as filled areas (None counts as 0)
    y_format: str = "{:.3g}"            # tick label format
    value_format: Callable[[float], str] | None = None   # hover text of a value; default y_format
    y_max: float | None = None          # fixed top (e.g. 1.0 for rates)
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    x_label: Callable[[float], str] | None = None   # tick text; default `12.5s` (seconds since run start)
    width: int = 1180
    height: int = 240


_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 28, 40
_OFF_SCALE = 4.0
"""A threshold more than this many times the data's top is named off scale, not drawn (it would flatten the data)."""


def _nice(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value (1 for value <= 0)."""
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    return next(m * step for m in (1, 2, 2.5, 5, 10) if value <= m * step * (1 + 1e-9))


def _stack(lines: list[Line]) -> list[tuple[list[float], list[float]]]:
    """(bottom, top) per layer of a stacked chart, None counting as 0."""
    base = [0.0] * len(lines[0].values) if lines else []
    out = []
    for line in lines:
        top = [b + (v or 0.0) for b, v in zip(base, line.values, strict=True)]
        out.append((base, top))
        base = top
    return out


def _legend(labels: list[tuple[str, str]], h: int, rows: int) -> list[str]:
    per_row = 6
    out = []
    for k, (label, color) in enumerate(labels):
        lx = _LEFT + 8 + (k % per_row) * 180
        ly = h - 14 * (rows - k // per_row)
        out.append(f'<rect x="{lx}" y="{ly}" width="12" height="4" fill="{color}"/>'
                   f'<text x="{lx + 16}" y="{ly + 5}" class="legend">{escape(label)}</text>')
    return out


def _y_top(chart: Chart, finite: list[float]) -> tuple[float, list[Threshold]]:
    """The axis top and the thresholds that fit under it."""
    data_top = max(finite, default=0.0)
    drawn = [t for t in chart.thresholds if data_top == 0 or t.value <= _OFF_SCALE * data_top]
    if chart.y_max is not None:
        return chart.y_max, drawn
    return _nice(max([data_top, *(t.value for t in drawn)], default=0.0)), drawn


def render_chart(chart: Chart) -> str:
    """SVG markup of one chart; every text is escaped."""
    w = chart.width
    labels = [(line.label, line.color or PALETTE[i % len(PALETTE)]) for i, line in enumerate(chart.lines)]
    legend_rows = max(1, math.ceil(len(labels) / 6))
    h = chart.height + 14 * (legend_rows - 1)
    plot_w, plot_h = w - _LEFT - _RIGHT, h - _TOP - _BOTTOM - 14 * (legend_rows - 1)
    x_min, x_end = chart.x_min, max(chart.x_max, chart.x_min + 1e-9)
    layers = _stack(chart.lines) if chart.stacked else []
    finite = ([v for _, top in layers for v in top] if chart.stacked else
              [v for line in chart.lines for v in line.values if v is not None and math.isfinite(v)])
    finite += [p.value for p in chart.points if math.isfinite(p.value)]
    y_top, thresholds = _y_top(chart, finite)
    fmt = chart.value_format or chart.y_format.format

    def sx(t: float) -> float:
        return _LEFT + plot_w * (max(x_min, min(t, x_end)) - x_min) / (x_end - x_min)

    def sy(v: float) -> float:
        return _TOP + plot_h * (1 - max(0.0, min(v, y_top)) / y_top)

    out = [f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" '
           f'aria-label="{escape(chart.title)}" class="chart">',
           f'<text x="{_LEFT}" y="18" class="chart-title">{escape(chart.title)}</text>']
    for band in chart.bands:
        if band.end < x_min:
            continue
        x0, x1 = sx(band.start), sx(band.end)
        out.append(f'<rect x="{x0:.1f}" y="{_TOP}" width="{max(x1 - x0, 1):.1f}" height="{plot_h}" class="band">'
                   f'<title>{escape(band.label)}</title></rect>')
        if band.name:
            out.append(f'<text x="{x0 + 3:.1f}" y="{_TOP + plot_h - 5}" class="band-name">{escape(band.name)}</text>')
    for i in range(5):
        v = y_top * i / 4
        y = sy(v)
        out.append(f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                   f'{escape(chart.y_format.format(v))}</text>')
    x_step = _nice((x_end - x_min) / 8)
    first = math.ceil(x_min / x_step - 1e-9)
    for i in range(first, int(x_end / x_step + 1e-9) + 1):
        t = i * x_step
        label = chart.x_label(t) if chart.x_label else f"{t:g}s"
        out.append(f'<text x="{sx(t):.1f}" y="{h - _BOTTOM - 14 * (legend_rows - 1) + 16}" class="tick" '
                   f'text-anchor="middle">{escape(label)}</text>')
    label_end, row = -1e9, 0
    for marker in sorted(chart.markers, key=lambda m: m.t):
        if marker.t < x_min:
            continue
        x = sx(marker.t)
        cls = "phase" if marker.strong else "event"
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{_TOP + plot_h}" class="{cls}">'
                   f'<title>{escape(marker.label)}</title></line>')
        if marker.strong:
            row = row + 1 if x < label_end else 0   # a label that would overlap the previous one drops a row
            label_end = x + 3 + 6.5 * len(marker.label)
            out.append(f'<text x="{x + 3:.1f}" y="{_TOP + 11 + 12 * (row % 3)}" class="tick">{escape(marker.label)}</text>')
    taken: list[float] = []
    for threshold in chart.thresholds:
        if threshold in thresholds:
            y = sy(threshold.value)
            label_y = y + 13 if y - 4 < _TOP + 40 else y - 4     # near the top, below the line: phase names live there
            while any(abs(label_y - other) < 12 for other in taken):   # two thresholds close together: stack labels
                label_y += 12
            taken.append(label_y)
            out.append(f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="slo"/>'
                       f'<text x="{w - _RIGHT - 4}" y="{label_y:.1f}" class="slo-label" text-anchor="end">'
                       f'{escape(threshold.label)}</text>')
        else:
            label_y = _TOP + plot_h - 6          # bottom right: the top rows hold the phase names
            while any(abs(label_y - other) < 12 for other in taken):
                label_y -= 12
            taken.append(label_y)
            out.append(f'<text x="{w - _RIGHT - 4}" y="{label_y:.1f}" class="slo-label" text-anchor="end">'
                       f'↑ {escape(threshold.label)} (off scale)</text>')
    if chart.stacked:
        for (label, color), (bottom, top) in zip(labels, layers, strict=True):
            out.append(_area(chart, bottom, top, sx, sy, color))
    else:
        for (label, color), line in zip(labels, chart.lines, strict=True):
            out += _series(chart, line, color, sx, sy)
    out += _legend(labels, h, legend_rows)
    for point in chart.points:
        out.append(f'<circle cx="{sx(point.t):.1f}" cy="{sy(point.value):.1f}" r="5" fill="{point.color}" class="point">'
                   f'<title>{escape(point.tooltip)}</title></circle>')
    if chart.bucket > 0:
        out += _hover(chart, sx, plot_h, fmt)
    out.append("</svg>")
    return "".join(out)


def _series(chart: Chart, line: Line, color: str, sx: Callable[[float], float], sy: Callable[[float], float]) -> list[str]:
    """One line: steps per bucket (or a polyline through the points), broken at None, ∞ as a cross on top."""
    out: list[str] = []
    dash = ' stroke-dasharray="5 3"' if line.dash else ""
    runs: list[list[tuple[float, float]]] = [[]]
    for t, v in zip(chart.x, line.values, strict=True):
        if t + chart.bucket < chart.x_min:
            continue
        if v is None or math.isnan(v):
            runs.append([])
        elif math.isinf(v):
            runs.append([])
            out.append(f'<text x="{sx(t + chart.bucket / 2):.1f}" y="{_TOP + 4}" fill="{color}" class="inf" '
                       f'text-anchor="middle">×<title>{escape(line.label)}: ∞ at {t:.0f}s</title></text>')
        else:
            runs[-1].append((t, v))
    for run in runs:
        if chart.bucket > 0 and run:
            path = [f"M{sx(run[0][0]):.1f},{sy(run[0][1]):.1f}"]
            for k, (t, v) in enumerate(run):
                if k:
                    path.append(f"V{sy(v):.1f}")
                path.append(f"H{sx(t + chart.bucket):.1f}")
            out.append(f'<path d="{"".join(path)}" fill="none" stroke="{color}" stroke-width="{line.width}"{dash}/>')
        elif len(run) > 1:
            points = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in run)
            out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="{line.width}"{dash}/>')
        elif run:
            out.append(f'<circle cx="{sx(run[0][0]):.1f}" cy="{sy(run[0][1]):.1f}" r="2" fill="{color}"/>')
    return out


def _area(chart: Chart, bottom: list[float], top: list[float], sx: Callable[[float], float],
          sy: Callable[[float], float], color: str) -> str:
    """One stacked layer as a filled step polygon between its bottom and top edges."""
    upper, lower = [], []
    for t, b, v in zip(chart.x, bottom, top, strict=True):
        x0, x1 = sx(t), sx(t + chart.bucket)
        upper += [f"{x0:.1f},{sy(v):.1f}", f"{x1:.1f},{sy(v):.1f}"]
        lower += [f"{x0:.1f},{sy(b):.1f}", f"{x1:.1f},{sy(b):.1f}"]
    return f'<polygon points="{" ".join(upper + lower[::-1])}" fill="{color}" fill-opacity=".75" stroke="none"/>'


def _hover(chart: Chart, sx: Callable[[float], float], plot_h: int, fmt: Callable[[float], str]) -> list[str]:
    """A transparent column per bucket whose title lists the bucket's values (what a hover shows)."""
    out = []
    for k, t in enumerate(chart.x):
        if t + chart.bucket <= chart.x_min:
            continue
        values = "; ".join(f"{line.label} {_shown(line.values[k], fmt)}" for line in chart.lines)
        x0, x1 = sx(t), sx(t + chart.bucket)
        out.append(f'<rect x="{x0:.1f}" y="{_TOP}" width="{max(x1 - x0, 0.5):.1f}" height="{plot_h}" class="hover">'
                   f'<title>{t:g}s to {t + chart.bucket:g}s: {escape(values)}</title></rect>')
    return out


def _shown(value: float | None, fmt: Callable[[float], str]) -> str:
    if value is None or math.isnan(value):
        return "no data"
    return "∞" if math.isinf(value) else fmt(value)


@dataclass(frozen=True)
class StripRun:
    """One pass/fail run in a strip (a probe run)."""

    t: float
    ok: bool
    tooltip: str


@dataclass(frozen=True)
class Strip:
    """Rows of pass/fail runs over time: one row per probe."""

    title: str
    rows: list[tuple[str, list[StripRun]]]
    x_max: float
    x_min: float = 0.0
    bands: list[Band] = field(default_factory=list)
    width: int = 1180


def render_strip(strip: Strip) -> str:
    """SVG of a pass/fail strip: a green or red tick per run, a row per probe, fault windows shaded."""
    w, row_h = strip.width, 18
    h = _TOP + row_h * len(strip.rows) + 24
    plot_w = w - _LEFT - _RIGHT          # the same plot area as a timeline chart: times line up
    left = _LEFT
    x_min, x_end = strip.x_min, max(strip.x_max, strip.x_min + 1e-9)

    def sx(t: float) -> float:
        return left + plot_w * (max(x_min, min(t, x_end)) - x_min) / (x_end - x_min)

    out = [f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{escape(strip.title)}" class="chart strip">',
           f'<text x="{_LEFT}" y="18" class="chart-title">{escape(strip.title)}</text>']
    for band in strip.bands:
        x0, x1 = sx(band.start), sx(band.end)
        out.append(f'<rect x="{x0:.1f}" y="{_TOP}" width="{max(x1 - x0, 1):.1f}" height="{row_h * len(strip.rows)}" '
                   f'class="band"><title>{escape(band.label)}</title></rect>')
    for r, (label, runs) in enumerate(strip.rows):
        y = _TOP + r * row_h
        shown = label if len(label) <= 9 else label[:8] + "…"
        out.append(f'<text x="{left - 6}" y="{y + 13}" class="tick" text-anchor="end">{escape(shown)}'
                   f'<title>{escape(label)}</title></text>')
        for run in runs:
            if run.t < x_min:
                continue
            out.append(f'<rect x="{sx(run.t) - 1.5:.1f}" y="{y + 2}" width="3" height="{row_h - 4}" '
                       f'class="{"run-ok" if run.ok else "run-fail"}"><title>{escape(run.tooltip)}</title></rect>')
    step = _nice((x_end - x_min) / 8)
    for i in range(math.ceil(x_min / step - 1e-9), int(x_end / step + 1e-9) + 1):
        out.append(f'<text x="{sx(i * step):.1f}" y="{h - 6}" class="tick" text-anchor="middle">{i * step:g}s</text>')
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class StackedBars:
    title: str
    categories: list[str]                   # one bar each, left to right
    series: list[tuple[str, list[int]]]     # (label, count per category), stacked bottom up in this order
    width: int = 1180
    height: int = 260


def render_stacked_bars(chart: StackedBars) -> str:
    """SVG markup of a stacked bar chart; every segment has a title with its label and count."""
    w, h = chart.width, chart.height
    legend_rows = max(1, math.ceil(len(chart.series) / 6))
    plot_w, plot_h = w - _LEFT - _RIGHT, h - _TOP - _BOTTOM - 14 * (legend_rows - 1)
    totals = [sum(values[i] for _, values in chart.series) for i in range(len(chart.categories))]
    y_top = _nice(max(totals, default=0))
    slot = plot_w / max(len(chart.categories), 1)
    bar = min(120.0, slot * 0.6)
    out = [f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{escape(chart.title)}" class="chart">',
           f'<text x="{_LEFT}" y="18" class="chart-title">{escape(chart.title)}</text>']
    for i in range(5):
        v = y_top * i / 4
        y = _TOP + plot_h * (1 - v / y_top)
        out.append(f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{v:g}</text>')
    for c, category in enumerate(chart.categories):
        x = _LEFT + slot * c + (slot - bar) / 2
        base = 0
        for k, (label, values) in enumerate(chart.series):
            count = values[c]
            if count:
                y0 = _TOP + plot_h * (1 - (base + count) / y_top)
                height = plot_h * count / y_top
                out.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar:.1f}" height="{max(height, 0.5):.1f}" '
                           f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(category)}: {escape(label)} {count}</title></rect>')
                base += count
        out.append(f'<text x="{x + bar / 2:.1f}" y="{_TOP + plot_h + 16}" class="tick" text-anchor="middle">'
                   f'{escape(category)} ({totals[c]})</text>')
    for k, (label, _) in enumerate(chart.series):
        lx = _LEFT + 8 + (k % 6) * 170
        ly = h - 14 * (legend_rows - k // 6)
        out.append(f'<rect x="{lx}" y="{ly}" width="12" height="4" fill="{PALETTE[k % len(PALETTE)]}"/>'
                   f'<text x="{lx + 16}" y="{ly + 5}" class="legend">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)
