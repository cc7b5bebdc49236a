"""Cross-checks of a brownout run against what nginx and the upstreams recorded themselves."""

from __future__ import annotations

from typing import Any

import pandas as pd

from tests.e2e.nginx.runs import Run
from tests.e2e.nginx.stack import Stack

__all__ = ["assert_rolled_back", "assert_successes_were_served", "retried_away_from", "served_by_upstream"]

SUCCESS = ("ok", "degraded")


def assert_rolled_back(run: Run, *faults: str, start: float = 1.0, duration: float = 4.0, slack: float = 1.0) -> None:
    """Each fault went in and came out on its schedule (`start` s into the fault phase, for `duration` s,
    give or take `slack`), so that it really covered most of the window the SLOs judge; and every
    proxy is enabled again once the run is over."""
    phase = next(p for p in run.results["timeline"]["phases"] if p["name"] == "fault")
    planned_in, planned_out = phase["start"] + start, phase["start"] + start + duration
    for name in faults:
        window = run.fault(name)
        assert window["injected_at"] is not None and window["rolled_back_at"] is not None, window
        assert window["error"] is None, window
        late = window["injected_at"] - planned_in
        held = window["rolled_back_at"] - window["injected_at"]
        assert -0.01 <= late <= slack, f"'{name}' went in {late:.2f} s after its planned time (held {held:.2f} s)"
        assert held >= duration - slack and window["rolled_back_at"] <= planned_out + slack, \
            f"'{name}' held {held:.2f} s of its planned {duration:g} s (in {late:.2f} s late)"
    assert all(proxy["enabled"] and not proxy["toxics"] for proxy in run.proxies_after.values()), run.proxies_after


def served_by_upstream(run: Run) -> dict[str, str]:
    """request id -> name of the upstream that wrote the whole answer (its /stats completed_ids)."""
    owner: dict[str, str] = {}
    for name, served in run.served.items():
        for request_id in served["completed_ids"]:
            assert request_id not in owner, f"{request_id} completed by both {owner[request_id]} and {name}"
            owner[request_id] = name
    return owner


def assert_successes_were_served(run: Run) -> pd.DataFrame:
    """Every request brownout counts as answered was answered to the end by exactly one upstream, and
    the upstreams completed no more answers than brownout saw answered or failed (a stream cut by the
    proxy may complete on the upstream's side). Returns the records with an `upstream` column."""
    records = run.records.copy()
    owner = served_by_upstream(run)
    records["upstream"] = records["request_id"].map(owner)
    success = records["outcome"].isin(SUCCESS)
    assert success.any(), run.explain()
    unserved = records.loc[success & records["upstream"].isna(), "request_id"].tolist()
    assert not unserved, f"brownout counts {unserved} as answered, but no upstream completed them"
    completed = sum(s["completed"] for s in run.served.values())
    failed = int((records["outcome"] == "failed").sum())
    assert int(success.sum()) <= completed <= int(success.sum()) + failed, (completed, records["outcome"].value_counts())
    return records


def retried_away_from(run: Run, stack: Stack, proxy: str) -> list[dict[str, Any]]:
    """nginx access-log lines of requests whose first try went to `proxy` and was refused (502),
    then were answered by another server: nginx's own record of failing over."""
    address = f"127.0.0.1:{stack.toxiproxy.ports[proxy]}"
    out = []
    for line in run.access:
        tried = [a.strip() for a in line["upstream_addr"].split(",")]
        statuses = [s.strip() for s in line["upstream_status"].split(",")]
        if len(tried) > 1 and tried[0] == address and statuses[0] == "502" and statuses[-1] == "200":
            out.append(line)
    return out
