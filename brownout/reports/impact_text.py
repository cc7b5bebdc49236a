"""The impact of each fault in words and as table cells, shared by the HTML report, the Markdown and the console."""

from __future__ import annotations

from dataclasses import dataclass

from brownout.reports.failures import counts_text
from brownout.reports.fmt import format_time, format_value
from brownout.reports.impact import FaultImpact

__all__ = ["ImpactRow", "impact_line", "impact_row"]

_STATUS = {"back": "back", "not_back": "not back", "inconclusive": "cannot tell", "not_injected": "not injected"}


def _hit(impact: FaultImpact) -> str:
    where = ", ".join(impact.targets) or impact.region or ""
    return f"{impact.fault} ({impact.kind}{' on ' + where if where else ''})"


def _latency(impact: FaultImpact) -> str:
    metric = impact.latency.metric
    text = (f"{impact.latency.label} {format_value(impact.latency_baseline, metric)} → "
            f"{format_value(impact.latency_during, metric)}")
    if impact.latency_change is not None:
        text += f" ({impact.latency_change * 100:+.0f}%)" if abs(impact.latency_change) != float("inf") else " (∞)"
    return text


def _back(impact: FaultImpact, t0: float) -> str:
    if impact.status == "back":
        after = "" if impact.back_after is None else f", {format_value(max(impact.back_after, 0.0), 'time_to_recover')} after rollback"
        return f"service back at {format_time(impact.back_at, t0)}{after}"
    if impact.status == "not_back":
        return f"service not back by {format_time(impact.until, t0)}"
    return f"cannot tell when the service was back ({impact.reason})"


def impact_line(impact: FaultImpact, t0: float) -> str:
    """One sentence: what it hit, when, what it cost users, when the service was back."""
    if impact.status == "not_injected":
        return f"{_hit(impact)}: not injected ({impact.reason})"
    when = f"{format_time(impact.injected_at, t0)} to {format_time(impact.rolled_back_at, t0)}"
    cost = (f"{impact.errors} of {impact.requests} requests failed ({counts_text(impact.errors_by_class)})"
            if impact.errors else f"no request failed of {impact.requests}")
    if impact.degraded:
        cost += f", {impact.degraded} degraded"
    worst = f"worst success rate {format_value(impact.worst_success_rate, 'success_rate')}"
    return f"{_hit(impact)}, {when}: {cost}; {worst}; {_latency(impact)}; {_back(impact, t0)}"


@dataclass(frozen=True)
class ImpactRow:
    """The per-fault table's cells, in column order."""

    fault: str
    hit: str
    window: str
    failed: str
    classes: str
    worst: str
    latency: str
    back: str
    status: str


def impact_row(impact: FaultImpact, t0: float) -> ImpactRow:
    back = format_time(impact.back_at, t0) if impact.status == "back" else _STATUS[impact.status]
    after = ("" if impact.back_after is None
             else f" ({format_value(max(impact.back_after, 0.0), 'time_to_recover')} after rollback)")
    if impact.status == "not_injected":
        return ImpactRow(impact.fault, ", ".join(impact.targets) or impact.region or impact.kind,
                         f"not injected ({impact.reason})", "—", "—", "—", "—", "—", _STATUS[impact.status])
    return ImpactRow(
        fault=impact.fault,
        hit=", ".join(impact.targets) or impact.region or impact.kind,
        window=f"{format_time(impact.injected_at, t0)} – {format_time(impact.rolled_back_at, t0)}",
        failed=f"{impact.errors}/{impact.requests}" + (f" ({impact.degraded} degraded)" if impact.degraded else ""),
        classes=counts_text(impact.errors_by_class) or "—",
        worst=format_value(impact.worst_success_rate, "success_rate"),
        latency=_latency(impact),
        back=back + after,
        status=_STATUS[impact.status],
    )
