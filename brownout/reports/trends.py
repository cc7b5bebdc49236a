"""Trends across runs: one self-contained `index.html` over every `results.json` under a folder.

Game days repeat for weeks; this page answers "are we getting better?": per
experiment, the resilience score over time (inline SVG) and one row per run with
its verdict, score, time to recover and every SLO's actual value, linking to
each run's report. Only scored runs (passed, failed) are points of the chart;
the others (inconclusive, aborted, not steady, error, interrupted) are rows
marked with their verdict, so a run that never finished cannot draw a dip.
A run saved twice (same run id) is one row. Files that are not brownout
results are listed, not fatal; a folder with no results at all is an error, not an empty page.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from markupsafe import Markup

from brownout.errors import SpecError
from brownout.reports.charts import Chart, Line, Marker, Point, render_chart
from brownout.reports.fmt import format_pair, format_score, format_time, format_value
from brownout.reports.gate import read_results
from brownout.reports.html import STATUS_BADGES, VERDICT_BADGES, template_env
from brownout.reports.results import RunResults

__all__ = ["INDEX_NAME", "ExperimentTrend", "TrendRun", "find_runs", "render_index", "write_index"]

INDEX_NAME = "index.html"


@dataclass(frozen=True)
class TrendRun:
    path: Path            # the results.json
    results: RunResults

    @property
    def run_id(self) -> str:
        """The runner's run id, else the file: copies of one run share it."""
        return str((self.results.environment.model_extra or {}).get("run_id") or self.path)


@dataclass
class ExperimentTrend:
    """What the page shows for one experiment: its runs oldest first, and the SLO columns."""

    experiment: str
    runs: list[TrendRun]
    slo_names: list[str] = field(default_factory=list)


def find_runs(results_dir: Path) -> tuple[list[TrendRun], list[str]]:
    """Every readable `results.json` under `results_dir`, oldest run first, and why others were left out.

    Of several copies of one run (`brownout report --out` re-renders into another folder) the file
    written last is kept: a re-render is the newer reading of the same run.
    """
    by_id: dict[str, TrendRun] = {}
    skipped = []
    for path in sorted(Path(results_dir).rglob("results.json")):
        try:
            run = TrendRun(path, read_results(path))
        except SpecError as exc:
            skipped.append(str(exc))
            continue
        kept = by_id.get(run.run_id)
        if kept is None or path.stat().st_mtime > kept.path.stat().st_mtime:
            by_id[run.run_id] = run
    runs = sorted(by_id.values(), key=lambda r: (r.results.timeline.run_start, str(r.path)))
    return runs, skipped


def group_by_experiment(runs: list[TrendRun]) -> list[ExperimentTrend]:
    """One trend per experiment name, in name order; SLO columns in order of first appearance."""
    trends: dict[str, ExperimentTrend] = {}
    for run in runs:
        trend = trends.setdefault(run.results.experiment, ExperimentTrend(run.results.experiment, []))
        trend.runs.append(run)
        trend.slo_names += [s.name for s in run.results.slos if s.name not in trend.slo_names]
    return [trends[name] for name in sorted(trends)]


VERDICT_COLORS = {"passed": "#16a34a", "failed": "#dc2626"}
"""Scored verdicts only: the others are rows, never points."""


def _score_chart(trend: ExperimentTrend) -> str:
    """A dot per scored run, coloured by verdict, with its run, time and score on hover, joined by a
    thin line; an unscored run is a faint tick (marked, not plotted). The axis spans every run, with
    a margin so the first and last dots are whole; one run alone sits mid-chart with one label."""
    origin = trend.runs[0].results.timeline.run_start
    span = trend.runs[-1].results.timeline.run_start - origin
    fmt = "%H:%M:%S" if span < 6 * 3600 else "%m-%d %H:%M"
    margin = span * 0.03 if span > 0 else 0.6   # alone: the middle of a 1.2 s axis, on one of its 0.2 s ticks
    scored = [r for r in trend.runs if r.results.comparable_score() is not None]

    def at(run: TrendRun) -> float:
        return run.results.timeline.run_start - origin + margin

    def label(t: float) -> str:
        if span == 0 and abs(t - margin) > 1e-9:
            return ""
        return datetime.fromtimestamp(origin + t - margin, tz=UTC).strftime(fmt)

    return render_chart(Chart(
        f"Resilience score of {trend.experiment}, {len(scored)} scored of {len(trend.runs)} run(s)",
        x=[at(r) for r in scored],
        lines=[Line("score", [r.results.comparable_score() for r in scored], "#94a3b8")],
        points=[Point(at(r), r.results.comparable_score() or 0.0, VERDICT_COLORS[r.results.verdict],
                      f"{r.path.parent.name} · {format_time(r.results.timeline.run_start)} · {r.results.verdict} · "
                      f"score {format_score(r.results.comparable_score())}")
                for r in scored],
        markers=[Marker(at(r), f"{r.path.parent.name} · {format_time(r.results.timeline.run_start)} · "
                               f"{r.results.verdict}: not scored")
                 for r in trend.runs if r.results.comparable_score() is None],
        x_max=span + 2 * margin,
        y_format="{:.0f}", y_max=100.0,
        x_label=label,
        height=200,
    ))


def _link(run: TrendRun, base: Path) -> str:
    """Relative link from the index to the run's report (or its results when the report is gone)."""
    report = run.path.with_name("report.html")
    target = report if report.exists() else run.path
    return Path(os.path.relpath(target, base)).as_posix()


def _row(run: TrendRun, slo_names: list[str], base: Path) -> dict[str, object]:
    r = run.results
    slos = {s.name: s for s in r.slos}
    return {
        "when": format_time(r.timeline.run_start),
        "verdict": r.verdict,
        "verdict_badge": VERDICT_BADGES[r.verdict],
        "score": format_score(r.comparable_score()),
        "scored": r.comparable_score() is not None,
        "recovery": format_value(r.recovery.value, "time_to_recover"),
        "slos": [(format_pair(slos[n].actual, slos[n].threshold, slos[n].metric)[0], slos[n].status,
                  STATUS_BADGES[slos[n].status]) if n in slos else ("—", "", "not measured") for n in slo_names],
        "href": _link(run, base),
        "name": run.path.parent.name,
        "profile": (r.environment.model_extra or {}).get("target_profile") or "—",
        "labels": ", ".join(f"{k}={v}" for k, v in sorted(_labels(r).items())),
    }


def _labels(results: RunResults) -> dict[str, str]:
    """`metadata.labels` of the experiment as run (team, release, ticket: how runs get told apart)."""
    labels = (results.spec.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def render_index(runs: list[TrendRun], base: Path, skipped: Sequence[str] = ()) -> str:
    """The index page's HTML; links are relative to `base` (the folder the page is written to)."""
    trends = group_by_experiment(runs)
    sections = [{
        "experiment": t.experiment,
        "chart": Markup(_score_chart(t)),
        "slo_names": t.slo_names,
        "rows": [_row(run, t.slo_names, base) for run in reversed(t.runs)],   # newest first
    } for t in trends]
    return template_env().get_template("index.html.j2").render(sections=sections, skipped=list(skipped), total=len(runs),
                                                     folder=str(base))


def write_index(results_dir: Path) -> Path:
    """Write `index.html` into `results_dir` over every results.json below it; returns the page's path."""
    base = Path(results_dir)
    if not base.is_dir():
        raise SpecError("not a folder of results", file=str(base),
                        hint="brownout report --index DIR reads every results.json under DIR")
    runs, skipped = find_runs(base)
    if not runs:
        raise SpecError("no brownout results under this folder" + (f" ({len(skipped)} other results.json file(s))"
                                                                    if skipped else ""),
                        file=str(base), hint="point --index at the folder `brownout run --out` writes runs into")
    path = base / INDEX_NAME
    path.write_text(render_index(runs, base, skipped), encoding="utf-8")
    return path
