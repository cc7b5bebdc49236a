"""The phase comparison table: every metric per phase, the statistics the SLOs are judged on, and the change
against the baseline (shared by the Markdown and HTML outputs)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from brownout.reports.fmt import RATE_METRICS, format_value
from brownout.reports.models import WindowMetrics
from brownout.reports.results import RunResults

__all__ = ["COMPARED", "PhaseRow", "PhaseTable", "RowSpec", "change", "phase_table"]


@dataclass(frozen=True)
class RowSpec:
    """One metric of the table: a window attribute, or a latency metric with its statistic."""

    label: str
    metric: str                 # for units ("" for counts)
    attr: str
    stat: str | None = None
    adjusted: bool = False

    def value(self, window: WindowMetrics) -> float | None:
        if self.stat is None:
            return getattr(window, self.attr)
        stats = (window.latency_adjusted if self.adjusted else window.latency).get(self.attr)
        return None if stats is None else getattr(stats, self.stat)


_COUNTS = frozenset({"requests", "abandoned"})
_BASE_ROWS = [
    RowSpec("requests", "", "requests"),
    RowSpec("abandoned by the harness (not counted)", "", "abandoned"),
    RowSpec("success rate", "success_rate", "success_rate"),
    RowSpec("degraded rate", "degraded_rate", "degraded_rate"),
    RowSpec("error rate", "error_rate", "error_rate"),
    RowSpec("throttle rate", "throttle_rate", "throttle_rate"),
    RowSpec("TTFT p95", "ttft", "ttft", "p95"),
    RowSpec("TTFT p95 (adjusted)", "ttft", "ttft", "p95", True),
    RowSpec("ITL p95", "itl", "itl", "p95"),
    RowSpec("E2E p95", "e2e", "e2e", "p95"),
    RowSpec("output tokens/s", "output_tokens_per_s", "output_tokens_per_s"),
    RowSpec("goodput", "goodput", "goodput"),
    RowSpec("error budget burn", "error_budget_burn", "error_budget_burn"),
]
COMPARED = ("fault", "recovery")
"""Phases shown with a change against the baseline."""
_NAMES = {"ttft": "TTFT", "itl": "ITL", "e2e": "E2E", "tpot": "TPOT"}


def _slo_rows(results: RunResults, present: set[tuple[str, str | None, bool]]) -> list[RowSpec]:
    """A row for each latency SLO's statistic the base rows do not show (ttft p99, tpot mean, ...)."""
    rows = []
    for slo in results.slos:
        spec = next((s for s in results.spec.get("slos", []) if s.get("name") == slo.name), {})
        stat, adjusted = spec.get("stat"), bool(spec.get("adjusted", False))
        key = (slo.metric, stat, adjusted)
        if stat is None or key in present:
            continue
        present.add(key)
        name = _NAMES.get(slo.metric, slo.metric)
        rows.append(RowSpec(f"{name} {stat}{' (adjusted)' if adjusted else ''} (SLO {slo.name})", slo.metric, slo.metric,
                            stat, adjusted))
    return rows


def change(value: float | None, baseline: float | None, metric: str) -> str:
    """Against the baseline: points for rates (`-12.5 pp`), relative for the rest (`+340%`); `—` without both."""
    if value is None or baseline is None or not (math.isfinite(value) and math.isfinite(baseline)):
        return "∞" if value is not None and math.isinf(value) and baseline is not None and math.isfinite(baseline) else "—"
    if metric in RATE_METRICS:
        return f"{(value - baseline) * 100:+.3g} pp"
    if baseline == 0:
        return "±0%" if value == 0 else "—"
    return f"{(value / baseline - 1) * 100:+.3g}%"


@dataclass(frozen=True)
class PhaseRow:
    label: str
    cells: dict[str, str]       # phase -> value
    changes: dict[str, str]     # compared phase -> change against the baseline


@dataclass(frozen=True)
class PhaseTable:
    phases: list[str]
    compared: list[str]
    rows: list[PhaseRow]


def phase_table(results: RunResults, phases: tuple[str, ...] = ("baseline", "fault", "recovery", "run")) -> PhaseTable:
    """Rows of the phase comparison for the phases the run reached; statistics the SLOs use are added."""
    shown = [p for p in phases if p in results.phases]
    present = {(r.attr, r.stat, r.adjusted) for r in _BASE_ROWS}
    baseline = results.phases.get("baseline")
    compared = [p for p in COMPARED if p in shown] if baseline is not None else []
    rows = []
    for spec in [*_BASE_ROWS, *_slo_rows(results, present)]:
        values = {p: spec.value(results.phases[p]) for p in shown}
        cells = {p: str(v) if spec.attr in _COUNTS else format_value(v, spec.metric) for p, v in values.items()}
        base = values.get("baseline")
        changes = {p: "" if spec.attr in _COUNTS else change(values[p], base, spec.metric) for p in compared}
        rows.append(PhaseRow(spec.label, cells, changes))
    return PhaseTable(shown, compared, rows)
