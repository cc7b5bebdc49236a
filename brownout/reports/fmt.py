"""Human formatting of metric values, shared by the Markdown, JUnit and HTML outputs.

None prints as "no data" and inf as "∞", so a reader never mistakes either for 0.
An actual shown next to its threshold goes through `format_pair`, so the two never
read the same when they differ ("99% vs >= 99% -> fail" cannot be printed).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from brownout.spec.objectives import SHARE_METRICS

__all__ = ["RATE_METRICS", "format_margin", "format_pair", "format_score", "format_time", "format_value", "unit_of"]

RATE_METRICS = SHARE_METRICS
_SHARES = frozenset({"load_cpu_share", "cpu_pressure", "steal"})
_SECONDS = frozenset({"ttft", "ttft_from_schedule", "itl", "tpot", "e2e", "schedule_lag", "time_to_recover", "failover_time",
                      "failback_time", "schedule_lag_p99", "loop_lag_p99", "loop_lag_max", "workflow_e2e"})
_UNITS = {"requests_per_s": "req/s", "goodput": "req/s", "output_tokens_per_s": "tok/s", "token_goodput": "tok/s",
          "error_budget_burn": "× budget", "accuracy_budget_burn": "× budget", "workflow_steps": "steps"}
_DIGITS = {"%": 4, "": 4}
"""Significant digits by unit (3 unless listed): what a reader needs, not what the float holds."""
_MAX_DIGITS = 17


def unit_of(metric: str) -> str:
    if metric in RATE_METRICS or metric in _SHARES:
        return "%"
    if metric in _SECONDS:
        return "s"
    return _UNITS.get(metric, "")


def format_value(value: float | None, metric: str = "", digits: int | None = None) -> str:
    """`97.5%`, `812 ms`, `2.41 s`, `12.3 req/s`, `∞`, `no data`, to `digits` significant digits (default by unit)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    unit = unit_of(metric)
    d = digits or _DIGITS.get(unit, 3)
    if unit == "%":
        return f"{value * 100:.{d}g}%"
    if unit == "s":
        ms = float(f"{value * 1000:.{d}g}")    # 0.9996 s is "1 s", not "1e+03 ms"
        return f"{ms:.{d}g} ms" if abs(ms) < 1000 else f"{value:.{d}g} s"
    if unit:
        return f"{value:.{d}g} {unit}"
    return f"{value:.{d}g}"


def format_pair(actual: float | None, threshold: float, metric: str) -> tuple[str, str]:
    """An actual and its threshold as shown side by side: both get more digits until they read differently
    whenever they differ. Rounding both to the same digits keeps their order, so the text agrees with the status."""
    digits = _DIGITS.get(unit_of(metric), 3)
    shown = format_value(actual, metric, digits), format_value(threshold, metric, digits)
    differ = actual is not None and math.isfinite(actual) and actual != threshold
    while differ and shown[0] == shown[1] and digits < _MAX_DIGITS:
        digits += 1
        shown = format_value(actual, metric, digits), format_value(threshold, metric, digits)
    return shown


def format_score(score: float | None, decimals: int = 0) -> str:
    """The resilience score as a number, "—" for a run that has none (not scored: see `results.SCORED_VERDICTS`)."""
    return "—" if score is None else f"{score:.{decimals}f}"


def format_margin(margin: float | None, unit: str) -> str:
    """Relative margins as signed percent, absolute ones (rates) as signed percentage points."""
    if margin is None:
        return "—"
    if math.isinf(margin):
        return "+∞" if margin > 0 else "-∞"
    return f"{margin * 100:+.3g}%" if unit == "relative" else f"{margin * 100:+.3g} pp"


def format_time(t: float | None, origin: float | None = None) -> str:
    """Run-clock seconds as UTC wall time, or as `+12.3s` after `origin`."""
    if t is None:
        return "—"
    if origin is not None:
        return f"+{t - origin:.1f}s"
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
