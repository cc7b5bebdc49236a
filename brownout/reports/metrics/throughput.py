"""Served throughput and goodput of one window, per second of the window.

All four functions return None, never 0, when the window has no requests or no
length: a phase without load is "no data", while a phase whose requests all
failed really does have 0 throughput. Requests count in the window they are
anchored in (brownout.reports.window); tokens count when they arrived: a
request's output tokens are spread evenly over its content chunks, chunk i
arriving at t_first + sum(itl[:i]), so a stream that runs past the window's end
gives it only the tokens it streamed inside.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brownout.spec.objectives import GoodputCriteria
from brownout.reports.metrics.latency import itl_gaps, per_request
from brownout.reports.metrics.outcomes import is_success, judged
from brownout.reports.window import Window, in_window

__all__ = ["TokenArrivals", "goodput", "meets_goodput", "output_tokens_per_s", "per_second", "requests_per_s",
           "token_goodput", "token_sources"]


def per_second(amount: float, requests: int, duration: float) -> float | None:
    """amount / duration, or None for a window without requests or without length."""
    if requests == 0 or duration <= 0:
        return None
    return float(amount) / duration


def _per_second(amount: float, records: pd.DataFrame, duration: float) -> float | None:
    return per_second(amount, len(records), duration)


class TokenArrivals:
    """When the output tokens of some requests arrived: chunk times, ascending, and tokens arrived by each.

    A request without `t_first` (nothing streamed) delivers its tokens at `t_end`.
    """

    def __init__(self, records: pd.DataFrame) -> None:
        tokens = pd.to_numeric(records["output_tokens"], errors="coerce").fillna(0).to_numpy(dtype=float)
        first = pd.to_numeric(records["t_first"], errors="coerce")
        first = first.where(first.notna(), pd.to_numeric(records["t_end"], errors="coerce")).to_numpy(dtype=float)
        gaps, lengths = itl_gaps(records)
        chunks = lengths + 1
        running = np.concatenate([[0.0], np.cumsum(gaps)])    # gaps summed over all requests, in row order
        gap_start = np.cumsum(lengths) - lengths                 # where request i's gaps begin in `gaps`
        chunk_start = gap_start + np.arange(len(lengths))        # where its chunks begin among all chunks
        within = np.arange(int(chunks.sum())) - np.repeat(chunk_start, chunks)  # chunk number inside its request
        at = np.repeat(gap_start, chunks)
        times = np.repeat(first, chunks) + running[at + within] - running[at]
        amounts = np.repeat(tokens / chunks, chunks)
        keep = ~np.isnan(times) & (amounts > 0)
        order = np.argsort(times[keep], kind="stable")
        self.times = times[keep][order]
        self._cumulative = np.concatenate([[0.0], np.cumsum(amounts[keep][order])])

    def between(self, start: float, end: float) -> float:
        """Tokens that arrived in `[start, end)`."""
        lo, hi = np.searchsorted(self.times, [start, end], side="left")
        return float(self._cumulative[hi] - self._cumulative[lo])


def _arrived(records: pd.DataFrame, window: Window) -> float:
    """Tokens of `records` that arrived in the window; only requests that can overlap it are expanded."""
    first = pd.to_numeric(records["t_first"], errors="coerce")
    end = pd.to_numeric(records["t_end"], errors="coerce")
    start = first.where(first.notna(), end)
    last = end.where(end.notna(), pd.to_numeric(records["t_last"], errors="coerce"))  # a cut stream may lack t_end
    overlaps = (start < window.end) & (last.isna() | (last >= window.start))
    return TokenArrivals(records[overlaps]).between(window.start, window.end)


def _anchored(records: pd.DataFrame, window: Window) -> int:
    """Judged requests anchored in the window: None-or-a-rate hinges on them, as for the other rates."""
    return len(judged(in_window(records, window)))


def token_sources(records: pd.DataFrame) -> dict[str, int]:
    """Where the output tokens of `output_tokens_per_s` came from: ok + degraded requests by `token_source`
    (usage, tokenizer, chunks, none). Unit: requests."""
    counts = records[is_success(records)]["token_source"].fillna("none").astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items())}


def requests_per_s(records: pd.DataFrame, duration: float) -> float | None:
    """Formula: (ok + degraded requests) / window seconds. Unit: requests/s. Higher is better."""
    return _per_second(is_success(records).sum(), records, duration)


def output_tokens_per_s(records: pd.DataFrame, window: Window) -> float | None:
    """Formula: output tokens of ok + degraded requests that arrived in the window (each request's output_tokens
    spread evenly over its content chunks, by chunk arrival time) / window seconds. Unit: tokens/s. Higher is better.

    `records`: the run's requests (a stream anchored before the window may deliver tokens inside it)."""
    rows = judged(records)
    return per_second(_arrived(rows[is_success(rows)], window), _anchored(rows, window), window.duration)


def meets_goodput(records: pd.DataFrame, criteria: GoodputCriteria) -> pd.Series:
    """ok (not degraded) and within every per-request limit that is set.

    A request whose TTFT or E2E cannot be measured does not meet a limit on it;
    a 1-token output has no TPOT and meets a TPOT limit (nothing was decoded late).
    """
    good = records["outcome"] == "ok"
    for metric in ("ttft", "e2e"):
        limit = getattr(criteria, metric)
        if limit is not None:
            good &= per_request(records, metric) <= limit
    if criteria.tpot is not None:
        tpot = per_request(records, "tpot")
        good &= tpot.isna() | (tpot <= criteria.tpot)
    return good


def goodput(records: pd.DataFrame, duration: float, criteria: GoodputCriteria) -> float | None:
    """Formula: ok requests meeting the per-request limits (`scoring.goodput`, else the latency SLOs) / window seconds.
    Unit: requests/s. Higher is better."""
    return _per_second(meets_goodput(records, criteria).sum(), records, duration)


def token_goodput(records: pd.DataFrame, window: Window, criteria: GoodputCriteria) -> float | None:
    """Formula: output tokens of goodput requests that arrived in the window (by chunk arrival time, as
    output_tokens_per_s) / window seconds. Unit: tokens/s. Higher is better."""
    rows = judged(records)
    return per_second(_arrived(rows[meets_goodput(rows, criteria)], window), _anchored(rows, window), window.duration)
