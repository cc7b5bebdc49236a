"""Charts as inline SVG, drawn in Python at report time (no script, no network).

A timeline chart is a few polylines over time with the fault windows shaded,
phase boundaries drawn and events ticked. Missing values (None) break the line;
an infinite value is drawn on the top edge, in the series' colour, as a cross.
A stacked bar chart (`render_stacked_bars`) shows counts per category, one bar
a category, one colour a series (failed requests by error class per phase).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

__all__ = ["Band", "Chart", "Line", "Marker", "Point", "StackedBars", "render_chart", "render_stacked_bars"]

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2")


@dataclass(frozen=True)
class Line:
    label: str
    values: list[float | None]
    color: str = ""


@dataclass(frozen=True)
class Band:
    """A shaded span of time (a fault window)."""

    start: float
    end: float
    label: str


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
class Chart:
    title: str
    x: list[float]                      # seconds since run start, one per value
    lines: list[Line]
    x_max: float                        # right edge: the run's length
    y_format: str = "{:.3g}"            # tick label format
    y_max: float | None = None          # fixed top (e.g. 1.0 for rates)
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    x_label: Callable[[float], str] | None = None   # tick text; default `12.5s` (seconds since run start)
    width: int = 1180
    height: int = 240


_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 28, 40


def _nice(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value (1 for value <= 0)."""
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    return next(m * step for m in (1, 2, 2.5, 5, 10) if value <= m * step * (1 + 1e-9))


def render_chart(chart: Chart) -> str:
    """SVG markup of one chart; every text is escaped."""
    w, h = chart.width, chart.height
    plot_w, plot_h = w - _LEFT - _RIGHT, h - _TOP - _BOTTOM
    x_end = max(chart.x_max, 1e-9)
    finite = [v for line in chart.lines for v in line.values if v is not None and math.isfinite(v)]
    finite += [p.value for p in chart.points if math.isfinite(p.value)]
    y_top = chart.y_max if chart.y_max is not None else _nice(max(finite, default=0.0))

    def sx(t: float) -> float:
        return _LEFT + plot_w * max(0.0, min(t, x_end)) / x_end

    def sy(v: float) -> float:
        return _TOP + plot_h * (1 - max(0.0, min(v, y_top)) / y_top)

    out = [f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" '
           f'aria-label="{escape(chart.title)}" class="chart">',
           f'<text x="{_LEFT}" y="18" class="chart-title">{escape(chart.title)}</text>']
    for band in chart.bands:
        x0, x1 = sx(band.start), sx(band.end)
        out.append(f'<rect x="{x0:.1f}" y="{_TOP}" width="{max(x1 - x0, 1):.1f}" height="{plot_h}" class="band">'
                   f'<title>{escape(band.label)}</title></rect>')
    for i in range(5):
        v = y_top * i / 4
        y = sy(v)
        out.append(f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                   f'{escape(chart.y_format.format(v))}</text>')
    x_step = _nice(x_end / 8)
    for i in range(int(x_end / x_step + 1e-9) + 1):
        t = i * x_step
        label = chart.x_label(t) if chart.x_label else f"{t:g}s"
        out.append(f'<text x="{sx(t):.1f}" y="{h - _BOTTOM + 16}" class="tick" text-anchor="middle">{escape(label)}</text>')
    label_end, row = -1e9, 0
    for marker in sorted(chart.markers, key=lambda m: m.t):
        x = sx(marker.t)
        cls = "phase" if marker.strong else "event"
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{_TOP + plot_h}" class="{cls}">'
                   f'<title>{escape(marker.label)}</title></line>')
        if marker.strong:
            row = row + 1 if x < label_end else 0   # a label that would overlap the previous one drops a row
            label_end = x + 3 + 6.5 * len(marker.label)
            out.append(f'<text x="{x + 3:.1f}" y="{_TOP + 11 + 12 * (row % 3)}" class="tick">{escape(marker.label)}</text>')
    for i, line in enumerate(chart.lines):
        color = line.color or PALETTE[i % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for t, v in zip(chart.x, line.values, strict=True):
            if v is None or math.isnan(v):
                runs.append([])
            elif math.isinf(v):
                runs.append([])
                out.append(f'<text x="{sx(t):.1f}" y="{_TOP + 4}" fill="{color}" class="inf" text-anchor="middle">×'
                           f'<title>{escape(line.label)}: ∞ at {t:.0f}s</title></text>')
            else:
                runs[-1].append(f"{sx(t):.1f},{sy(v):.1f}")
        for run in runs:
            if len(run) > 1:
                out.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{color}" stroke-width="1.8"/>')
            elif run:
                x, y = run[0].split(",")
                out.append(f'<circle cx="{x}" cy="{y}" r="2" fill="{color}"/>')
        lx = _LEFT + 8 + i * 170
        out.append(f'<rect x="{lx}" y="{h - 14}" width="12" height="4" fill="{color}"/>'
                   f'<text x="{lx + 16}" y="{h - 9}" class="legend">{escape(line.label)}</text>')
    for point in chart.points:
        out.append(f'<circle cx="{sx(point.t):.1f}" cy="{sy(point.value):.1f}" r="5" fill="{point.color}" class="point">'
                   f'<title>{escape(point.tooltip)}</title></circle>')
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
