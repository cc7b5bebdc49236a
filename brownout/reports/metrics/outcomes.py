"""Outcome rates and error-budget burn of one window of requests.

Every request is ok, degraded, failed or abandoned. An *abandoned* request is one
the harness gave up on (drain expired, stop condition, interrupt), a *dropped*
arrival (failed, error class `dropped`) one it never sent on time because of its
own limits (in-flight cap, load-generator backlog: `drop_reason`). Neither says
anything about the target, so `judged` leaves both out before any metric is taken
and outputs only count them. Of the judged requests, a failed one is *throttled*
when it got a 429 (error class `throttled`) and an *error* otherwise. So over judged requests
`success_rate + error_rate + throttle_rate == 1`, and `degraded_rate` is the
part of `success_rate` served by a fallback path. Every function returns None,
never 0, for a window without judged requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = [
    "OutcomeCounts",
    "count_outcomes",
    "degraded_rate",
    "error_budget_burn",
    "error_rate",
    "is_abandoned",
    "is_dropped",
    "is_error",
    "is_success",
    "is_throttled",
    "judged",
    "success_rate",
    "throttle_rate",
]


def is_abandoned(records: pd.DataFrame) -> pd.Series:
    """The harness gave up on it: never a failure of the target."""
    return records["outcome"] == "abandoned"


def is_dropped(records: pd.DataFrame) -> pd.Series:
    """Never sent on time because of the harness's own limits: never a failure of the target."""
    return records["error_class"] == "dropped"


def judged(records: pd.DataFrame) -> pd.DataFrame:
    """The requests every metric is taken over: all but the abandoned and the dropped ones."""
    return records[~(is_abandoned(records) | is_dropped(records))]


def is_success(records: pd.DataFrame) -> pd.Series:
    """ok or degraded: the user got an answer."""
    return records["outcome"].isin(("ok", "degraded"))


def is_throttled(records: pd.DataFrame) -> pd.Series:
    """Failed with a 429 (error class `throttled`, or status 429 when the class is missing)."""
    failed = records["outcome"] == "failed"
    status = pd.to_numeric(records["status"], errors="coerce")
    return failed & ((records["error_class"] == "throttled") | (status == 429))


def is_error(records: pd.DataFrame) -> pd.Series:
    """Failed and not throttled (of judged requests: dropped ones are left out before)."""
    return (records["outcome"] == "failed") & ~is_throttled(records)


@dataclass(frozen=True)
class OutcomeCounts:
    """Outcomes of the judged requests of one window (`count_outcomes` of `judged(...)`)."""

    requests: int
    ok: int
    degraded: int
    errors: int
    throttled: int

    @property
    def success(self) -> int:
        return self.ok + self.degraded


def count_outcomes(records: pd.DataFrame) -> OutcomeCounts:
    return OutcomeCounts(
        requests=len(records),
        ok=int((records["outcome"] == "ok").sum()),
        degraded=int((records["outcome"] == "degraded").sum()),
        errors=int(is_error(records).sum()),
        throttled=int(is_throttled(records).sum()),
    )


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def success_rate(counts: OutcomeCounts) -> float | None:
    """Formula: (ok + degraded) / requests. Unit: ratio 0..1. Higher is better."""
    return _share(counts.success, counts.requests)


def degraded_rate(counts: OutcomeCounts) -> float | None:
    """Formula: degraded / requests. Unit: ratio 0..1. Lower is better."""
    return _share(counts.degraded, counts.requests)


def error_rate(counts: OutcomeCounts) -> float | None:
    """Formula: (failed - throttled) / requests. Unit: ratio 0..1. Lower is better."""
    return _share(counts.errors, counts.requests)


def throttle_rate(counts: OutcomeCounts) -> float | None:
    """Formula: throttled (HTTP 429) / requests. Unit: ratio 0..1. Lower is better."""
    return _share(counts.throttled, counts.requests)


def error_budget_burn(counts: OutcomeCounts, error_budget: float) -> float | None:
    """Formula: errors / (error_budget * requests). Unit: ratio (1 = the whole budget). Lower is better.

    Throttled requests do not burn the budget: they are reported by throttle_rate.
    """
    return _share(counts.errors, error_budget * counts.requests) if counts.requests else None
