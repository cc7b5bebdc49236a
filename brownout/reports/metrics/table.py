"""Per-request columns computed once and sliced per time bucket.

Time-bucket series (hundreds to thousands of small windows) would spend their
time in per-call pandas overhead; here every per-request value is computed once
over the whole frame, with the same functions the phase metrics use, and a
window is a slice of arrays sorted by anchor time. Abandoned requests are left
out here (`judged`), as the phase metrics leave them out, and only counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brownout.spec.objectives import LATENCY_METRICS, GoodputCriteria
from brownout.reports.metrics.latency import itl_gaps, per_request, with_failures
from brownout.reports.metrics.outcomes import OutcomeCounts, is_abandoned, is_error, is_success, is_throttled, judged
from brownout.reports.metrics.throughput import TokenArrivals, meets_goodput
from brownout.reports.window import Window, anchor_times

__all__ = ["RequestTable"]


def _by_anchor(records: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The placed rows sorted by anchor time, and those times."""
    anchor = anchor_times(records)
    placed = anchor.notna()
    order = np.argsort(anchor[placed].to_numpy(dtype=float), kind="stable")
    return records[placed].iloc[order], anchor[placed].to_numpy(dtype=float)[order]


@dataclass(frozen=True)
class RequestTable:
    anchor: np.ndarray      # run-clock anchor of each judged request (see brownout.reports.window), ascending
    ok: np.ndarray
    degraded: np.ndarray
    error: np.ndarray
    throttled: np.ndarray
    good: np.ndarray        # meets the goodput criteria
    latency: dict[str, np.ndarray]  # every per-request latency metric, NaN when undefined
    itl: np.ndarray         # ITL gaps of successful requests, in request order
    itl_start: np.ndarray   # request i's gaps are itl[itl_start[i]:itl_start[i + 1]] (empty when it failed)
    abandoned: np.ndarray   # anchors of the abandoned requests, ascending
    error_class: np.ndarray  # error class of each failed request (`unknown` when missing), None for the others
    region: np.ndarray      # region of each request (records fall back to the raw served_by), None when unknown
    arrivals: TokenArrivals  # when the output tokens of ok and degraded requests arrived

    @classmethod
    def build(cls, records: pd.DataFrame, criteria: GoodputCriteria) -> RequestTable:
        rows, anchor = _by_anchor(judged(records))
        success = is_success(rows).to_numpy(dtype=bool)
        gaps, lengths = itl_gaps(rows)
        kept = np.repeat(success, lengths)
        lengths = np.where(success, lengths, 0)

        def col(series: pd.Series, dtype: type) -> np.ndarray:
            return series.to_numpy(dtype=dtype)

        return cls(
            anchor=anchor,
            ok=col(rows["outcome"] == "ok", bool),
            degraded=col(rows["outcome"] == "degraded", bool),
            error=col(is_error(rows), bool),
            throttled=col(is_throttled(rows), bool),
            good=col(meets_goodput(rows, criteria), bool),
            latency={m: col(per_request(rows, m), float) for m in sorted(LATENCY_METRICS - {"itl"})},
            itl=gaps[kept],
            itl_start=np.concatenate([[0], np.cumsum(lengths)]),
            abandoned=_by_anchor(records[is_abandoned(records)])[1],
            error_class=np.where(rows["outcome"] == "failed", rows["error_class"].fillna("unknown").astype(str), None),
            region=rows["region"].where(rows["region"].notna(), None).to_numpy(dtype=object),
            arrivals=TokenArrivals(rows[is_success(rows)]),
        )

    def span(self, window: Window) -> slice:
        """Positions of the judged requests anchored in `[window.start, window.end)`."""
        lo, hi = np.searchsorted(self.anchor, [window.start, window.end], side="left")
        return slice(int(lo), int(hi))

    def abandoned_in(self, window: Window) -> int:
        """How many abandoned requests are anchored in `[window.start, window.end)`."""
        lo, hi = np.searchsorted(self.abandoned, [window.start, window.end], side="left")
        return int(hi - lo)

    def counts(self, at: slice) -> OutcomeCounts:
        return OutcomeCounts(
            requests=at.stop - at.start,
            ok=int(self.ok[at].sum()),
            degraded=int(self.degraded[at].sum()),
            errors=int(self.error[at].sum()),
            throttled=int(self.throttled[at].sum()),
        )

    def success(self, at: slice) -> np.ndarray:
        """ok or degraded, as `is_success`."""
        return self.ok[at] | self.degraded[at]

    def output_tokens(self, window: Window) -> float:
        """Output tokens of ok and degraded requests that arrived in the window, as `output_tokens_per_s` sums them."""
        return self.arrivals.between(window.start, window.end)

    def goodput_requests(self, at: slice) -> int:
        return int(self.good[at].sum())

    def sample(self, at: slice, metric: str, *, adjusted: bool) -> np.ndarray:
        """Same sample as `latency_samples(records, metric, adjusted=...)` over the window."""
        success = self.success(at)
        if metric == "itl":
            values = self.itl[self.itl_start[at.start]:self.itl_start[at.stop]]
        else:
            values = self.latency[metric][at][success]
            values = values[~np.isnan(values)]
        return with_failures(values, int((~success).sum()), adjusted=adjusted)
