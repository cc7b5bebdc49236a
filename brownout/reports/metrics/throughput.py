"""Served throughput and goodput of one window, per second of the window.

All four functions return None, never 0, when the window has no requests or no
length: a phase without load is "no data", while a phase whose requests all
failed really does have 0 throughput.
"""

from __future__ import annotations

import pandas as pd

from brownout.spec.objectives import GoodputCriteria
from brownout.reports.metrics.latency import per_request
from brownout.reports.metrics.outcomes import is_success

__all__ = ["goodput", "meets_goodput", "output_tokens_per_s", "per_second", "requests_per_s", "token_goodput",
           "token_sources"]


def per_second(amount: float, requests: int, duration: float) -> float | None:
    """amount / duration, or None for a window without requests or without length."""
    if requests == 0 or duration <= 0:
        return None
    return float(amount) / duration


def _per_second(amount: float, records: pd.DataFrame, duration: float) -> float | None:
    return per_second(amount, len(records), duration)


def _tokens(records: pd.DataFrame) -> float:
    return float(pd.to_numeric(records["output_tokens"], errors="coerce").fillna(0).sum())


def token_sources(records: pd.DataFrame) -> dict[str, int]:
    """Where the output tokens of `output_tokens_per_s` came from: ok + degraded requests by `token_source`
    (usage, tokenizer, chunks, none). Unit: requests."""
    counts = records[is_success(records)]["token_source"].fillna("none").astype(str).value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items())}


def requests_per_s(records: pd.DataFrame, duration: float) -> float | None:
    """Formula: (ok + degraded requests) / window seconds. Unit: requests/s. Higher is better."""
    return _per_second(is_success(records).sum(), records, duration)


def output_tokens_per_s(records: pd.DataFrame, duration: float) -> float | None:
    """Formula: sum(output_tokens of ok + degraded requests) / window seconds. Unit: tokens/s. Higher is better."""
    return _per_second(_tokens(records[is_success(records)]), records, duration)


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


def token_goodput(records: pd.DataFrame, duration: float, criteria: GoodputCriteria) -> float | None:
    """Formula: sum(output_tokens of goodput requests) / window seconds. Unit: tokens/s. Higher is better."""
    return _per_second(_tokens(records[meets_goodput(records, criteria)]), records, duration)
