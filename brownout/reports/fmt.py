"""Human formatting of metric values, shared by the Markdown, JUnit and HTML outputs.

None prints as "no data" and inf as "∞", so a reader never mistakes either for 0.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["RATE_METRICS", "format_margin", "format_time", "format_value", "unit_of"]

RATE_METRICS = frozenset({"success_rate", "degraded_rate", "error_rate", "throttle_rate", "probe_success_rate"})
_SECONDS = frozenset({"ttft", "ttft_from_schedule", "itl", "tpot", "e2e", "schedule_lag", "time_to_recover", "failover_time", "failback_time"})
_UNITS = {"requests_per_s": "req/s", "goodput": "req/s", "output_tokens_per_s": "tok/s", "token_goodput": "tok/s",
          "error_budget_burn": "× budget"}


def unit_of(metric: str) -> str:
    if metric in RATE_METRICS:
        return "%"
    if metric in _SECONDS:
        return "s"
    return _UNITS.get(metric, "")


def format_value(value: float | None, metric: str = "") -> str:
    """`97.5%`, `812 ms`, `2.41 s`, `12.3 req/s`, `∞`, `no data`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    unit = unit_of(metric)
    if unit == "%":
        return f"{value * 100:.4g}%"
    if unit == "s":
        return f"{value * 1000:.3g} ms" if abs(value) < 1 else f"{value:.3g} s"
    if unit:
        return f"{value:.3g} {unit}"
    return f"{value:.4g}"


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
