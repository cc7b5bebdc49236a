"""Failed how: the error classes (and HTTP statuses) of each phase, in words for every output.

The counts come from the results (`WindowMetrics.errors_by_class`, computed in
`reports.metrics.failures`); this module only turns them into the short texts
the console, summary.md and JUnit show, and the table and chart the HTML draws.
"""

from __future__ import annotations

from brownout.reports.models import WindowMetrics
from brownout.reports.results import RunResults

__all__ = ["DROP_REASONS", "TOP_CLASSES", "arrivals_line", "class_table", "counts_text", "failure_lines", "top_classes",
           "usage_line"]

TOP_CLASSES = 3
PHASES = ("baseline", "fault", "recovery", "run")


def counts_text(counts: dict[str, int], n: int = TOP_CLASSES) -> str:
    """`timeout 12, http_5xx 8, 2 more classes 3`: the n largest of counts given most first; "" for none."""
    items = list(counts.items())
    text = ", ".join(f"{name} {count}" for name, count in items[:n])
    rest = sum(count for _, count in items[n:])
    if rest:
        text += f", {len(items) - n} more classes {rest}"
    return text


def top_classes(window: WindowMetrics, n: int = TOP_CLASSES) -> str:
    """`timeout 12, http_5xx 8 (HTTP 503 ×8)`: the n largest error classes, statuses after; "" without failures."""
    if not window.errors_by_class:
        return ""
    text = counts_text(window.errors_by_class, n)
    if window.errors_by_status:
        text += " (" + ", ".join(f"HTTP {status} ×{count}" for status, count in window.errors_by_status.items()) + ")"
    return text


def usage_line(results: RunResults) -> str:
    """"usage disagrees with the stream on N requests", with where the token counts came from; "" when it never did."""
    run = results.phases.get("run")
    count = run.usage_mismatches if run is not None else 0
    if not count:
        return ""
    sources = ", ".join(f"{source} {n}" for source, n in run.token_sources.items())
    return (f"usage disagrees with the stream on {count} request{'s' if count != 1 else ''} "
            f"(their token counts come from the stream; token sources of answered requests: {sources})")


DROP_REASONS = {"in_flight_cap": "in-flight cap full", "load_backlog": "load generator backlog"}
"""How a `drop_reason` reads in the outputs."""


def arrivals_line(results: RunResults) -> str:
    """"arrivals: 60 scheduled = 58 sent + 2 dropped by the harness (load generator backlog 2; not target errors)",
    or "" in closed loop."""
    a = results.arrivals
    if a is None:
        return ""
    unsent = f" ({a.abandoned_unsent} abandoned before sending)" if a.abandoned_unsent else ""
    why = ", ".join(f"{DROP_REASONS.get(reason, reason)} {n}" for reason, n in a.drop_reasons.items())
    dropped = f" by the harness ({why}; not target errors)" if a.dropped else ""
    return f"arrivals: {a.scheduled} scheduled = {a.sent} sent + {a.dropped} dropped{dropped}{unsent}"


def failure_lines(results: RunResults) -> list[str]:
    """One line per phase that had failures (`fault: 20 failed: timeout 12, ...`), then usage disagreements."""
    lines = [f"{name}: {w.errors + w.throttled} failed: {top_classes(w)}"
             for name in PHASES if (w := results.phases.get(name)) is not None and w.errors_by_class
             and (name != "run" or len(results.phases) == 1)]
    return lines + [line for line in (usage_line(results),) if line]


def class_table(results: RunResults) -> tuple[list[str], list[tuple[str, list[int]]]]:
    """(phases, [(error class or `HTTP status`, count per phase)]) over every phase, classes by total."""
    phases = [p for p in PHASES[:3] if p in results.phases] or [p for p in PHASES if p in results.phases]
    rows: dict[str, list[int]] = {}
    for i, phase in enumerate(phases):
        window = results.phases[phase]
        for key, count in [*window.errors_by_class.items(), *((f"HTTP {s}", c) for s, c in window.errors_by_status.items())]:
            rows.setdefault(key, [0] * len(phases))[i] = count
    classes = sorted((k for k in rows if not k.startswith("HTTP ")), key=lambda k: (-sum(rows[k]), k))
    statuses = sorted(k for k in rows if k.startswith("HTTP "))
    return phases, [(k, rows[k]) for k in (*classes, *statuses)]
