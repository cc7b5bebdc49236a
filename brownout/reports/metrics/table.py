"""Per-request columns computed once and sliced per time bucket.

Time-bucket series (hundreds to thousands of small windows) would spend their
time in per-call pandas overhead; here every per-request value is computed once
over the whole frame, with the same functions the phase metrics use, and a
window is a slice of arrays sorted by anchor time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brownout.experiments.spec.objectives import GoodputCriteria
from brownout.reports.metrics.latency import per_request, with_failures
from brownout.reports.metrics.outcomes import OutcomeCounts, is_error, is_throttled
from brownout.reports.metrics.throughput import meets_goodput
from brownout.reports.window import Window, anchor_times

__all__ = ["RequestTable"]


@dataclass(frozen=True)
class RequestTable:
    anchor: np.ndarray      # run-clock anchor (see brownout.reports.window), ascending
    ok: np.ndarray
    degraded: np.ndarray
    error: np.ndarray
    throttled: np.ndarray
    tokens: np.ndarray      # output tokens, 0 when unknown
    ttft: np.ndarray        # NaN when undefined
    good: np.ndarray        # meets the goodput criteria

    @classmethod
    def build(cls, records: pd.DataFrame, criteria: GoodputCriteria) -> RequestTable:
        anchor = anchor_times(records)
        placed = records[anchor.notna()]
        order = np.argsort(anchor[anchor.notna()].to_numpy(dtype=float), kind="stable")

        def col(series: pd.Series, dtype: type) -> np.ndarray:
            return series.to_numpy(dtype=dtype)[order]

        return cls(
            anchor=col(anchor_times(placed), float),
            ok=col(placed["outcome"] == "ok", bool),
            degraded=col(placed["outcome"] == "degraded", bool),
            error=col(is_error(placed), bool),
            throttled=col(is_throttled(placed), bool),
            tokens=col(pd.to_numeric(placed["output_tokens"], errors="coerce").fillna(0), float),
            ttft=col(per_request(placed, "ttft"), float),
            good=col(meets_goodput(placed, criteria), bool),
        )

    def span(self, window: Window) -> slice:
        """Positions of the requests anchored in `[window.start, window.end)`."""
        lo, hi = np.searchsorted(self.anchor, [window.start, window.end], side="left")
        return slice(int(lo), int(hi))

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

    def output_tokens(self, at: slice) -> float:
        """Output tokens of ok and degraded requests, as `output_tokens_per_s` sums them."""
        return float(self.tokens[at][self.success(at)].sum())

    def goodput_requests(self, at: slice) -> int:
        return int(self.good[at].sum())

    def ttft_sample(self, at: slice, *, adjusted: bool) -> np.ndarray:
        """Same sample as `latency_samples(records, "ttft", adjusted=...)` over the window."""
        success = self.success(at)
        values = self.ttft[at][success]
        return with_failures(values[~np.isnan(values)], int((~success).sum()), adjusted=adjusted)

