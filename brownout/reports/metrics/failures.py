"""Why requests failed: counts by error class and by HTTP status, anomalies, and the arrivals balance.

Pure functions over a records frame. An SRE's first question after a game day is
"failed how?": these counts answer it per phase in every output. Throttled (429)
requests are failures with their own class, so they are counted here too; dropped
arrivals are the harness's (never judged) and only appear in the arrivals balance.
"""

from __future__ import annotations

import pandas as pd

from brownout.reports.metrics.outcomes import judged

__all__ = ["arrival_counts", "count_anomalies", "count_usage_mismatches", "drop_reasons", "errors_by_class",
           "errors_by_status"]


def _failed(records: pd.DataFrame) -> pd.DataFrame:
    rows = judged(records)
    return rows[rows["outcome"] == "failed"]


def _counts(values: pd.Series) -> dict[str, int]:
    """Value -> count, most frequent first (ties by name), as plain ints."""
    counts = values.value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def errors_by_class(records: pd.DataFrame) -> dict[str, int]:
    """Formula: failed judged requests counted by `error_class` (`unknown` when missing). Unit: requests."""
    failed = _failed(records)
    return _counts(failed["error_class"].fillna("unknown").astype(str))


def errors_by_status(records: pd.DataFrame) -> dict[str, int]:
    """Formula: failed judged requests that got an HTTP status, counted by that status. Unit: requests."""
    status = pd.to_numeric(_failed(records)["status"], errors="coerce").dropna()
    return _counts(status.astype(int).astype(str))


def count_usage_mismatches(records: pd.DataFrame) -> int:
    """Formula: judged requests whose server `usage` disagreed with the stream and was set aside. Unit: requests."""
    return int(judged(records)["usage_mismatch"].notna().sum())


def count_anomalies(records: pd.DataFrame) -> int:
    """Formula: judged requests with a protocol anomaly that did not fail them (bytes after [DONE], ...). Unit: requests."""
    return int(judged(records)["anomaly"].notna().sum())


def arrival_counts(records: pd.DataFrame) -> tuple[int, int, int, int]:
    """(scheduled, sent, dropped, abandoned before sending) of the open-loop arrivals.

    An arrival is a record with a `t_sched` that is not a later turn of a session
    (a session's id is the id of its first request). The load writes exactly one record per
    arrival, so `scheduled == sent + dropped`; an arrival the harness gave up on
    before sending it is `sent` (dispatched) and counted apart as well.
    """
    first_turn = records["session"].isna() | (records["session"] == records["request_id"])
    arrivals = records[records["t_sched"].notna() & first_turn]
    dropped = int((arrivals["error_class"] == "dropped").sum())
    unsent = int(((arrivals["outcome"] == "abandoned") & arrivals["t_send"].isna()).sum())
    return len(arrivals), len(arrivals) - dropped, dropped, unsent


def drop_reasons(records: pd.DataFrame) -> dict[str, int]:
    """Formula: dropped arrivals counted by `drop_reason` (`in_flight_cap`, `load_backlog`; `unknown` for records
    written before the field). Unit: arrivals. Every one is the harness's, never a target error."""
    dropped = records[records["error_class"] == "dropped"]
    reasons = dropped["drop_reason"]
    return _counts(reasons.astype(object).where(reasons.notna(), "unknown").astype(str))
