"""Stop-condition triggers on constructed record sequences, with hand-computed firing times."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

import httpx
from pydantic import TypeAdapter

from brownout.experiments.guards import (
    ErrorRateGuard,
    LatencyGuard,
    ProbeFailuresGuard,
    PromQLGuard,
    build_triggers,
)
from brownout.spec.guards import Guard
from brownout.spec.probes import HttpProbe
from brownout.rundata.records import RequestRecord
from brownout.rundata.clock import RunClock
from brownout.probes.http_check import HttpCheck
from brownout.rundata.probes import ProbeResult
from brownout.probes.target import ProbeTarget
from brownout.processes import free_port

GUARD = TypeAdapter(Guard)


def guard(**raw):
    return build_triggers([GUARD.validate_python({"name": "g", **raw})])[0]


def rec(t_end: float, outcome: str = "ok", error_class: str | None = None, ttft: float | None = 0.1,
        itl: list[float] | None = None) -> dict:
    """A completed request as the runner sees it: a RequestRecord as a dict."""
    t_send = t_end - 1.0
    t_first = None if ttft is None else t_send + ttft
    record = RequestRecord(request_id=f"r{t_end}", kind="chat", worker="w0", t_sched=t_send, t_send=t_send,
                           t_first=t_first, t_end=t_end, itl=itl or [], outcome=outcome, error_class=error_class)
    return asdict(record)


def test_build_triggers_maps_each_kind():
    specs = [
        {"name": "a", "kind": "error_rate", "above": 0.5},
        {"name": "b", "kind": "latency", "above": 2.0},
        {"name": "c", "kind": "probe_failures", "probe": "canary"},
        {"name": "d", "kind": "promql", "url": "http://127.0.0.1:9090", "query": "up", "op": "<", "threshold": 1},
    ]
    triggers = build_triggers([GUARD.validate_python(s) for s in specs])
    assert [type(t) for t in triggers] == [ErrorRateGuard, LatencyGuard, ProbeFailuresGuard, PromQLGuard]
    assert [t.name for t in triggers] == ["a", "b", "c", "d"]


def test_error_rate_fires_after_for():
    g = guard(kind="error_rate", above=0.5, window=5.0, min_requests=4, **{"for": 2.0})
    # t=10: 4 requests in (5, 10], 3 failed -> 0.75 > 0.5: breach starts at 10
    g.update(10.0, [rec(7.0), rec(8.0, "failed", "http_5xx"), rec(9.0, "failed", "timeout"), rec(10.0, "failed", "http_5xx")], [])
    assert g.fired is None
    # t=11: window (6, 11]: same 4 plus 1 failed -> 4/5 = 0.8, held 1s
    g.update(11.0, [rec(11.0, "failed", "connect_refused")], [])
    assert g.fired is None
    # t=12: window (7, 12]: r7 drops out (t > now - window is strict), +1 failed -> 5/5, held 2s: fires
    g.update(12.0, [rec(12.0, "failed", "http_5xx")], [])
    assert g.fired is not None
    assert (g.fired.name, g.fired.t) == ("g", 12.0)
    assert g.fired.reason == "error rate 1.00 > 0.50 for 2.0s over 5.0s window (5 requests)"
    g.update(13.0, [rec(13.0)] * 50, [])  # stays fired until reset
    assert g.fired.t == 12.0
    g.reset()
    assert g.fired is None
    g.update(14.0, [rec(14.0, "failed", "http_5xx")] * 4, [])
    assert g.fired is None  # reset also cleared the window and the streak (for: 2s not yet held)


def test_error_rate_streak_breaks_and_restarts():
    g = guard(kind="error_rate", above=0.5, window=2.0, min_requests=2, **{"for": 1.0})
    g.update(1.0, [rec(0.5, "failed", "http_5xx"), rec(1.0, "failed", "http_5xx")], [])
    g.update(1.5, [rec(1.5), rec(1.5), rec(1.5)], [])   # 2/5 = 0.4: streak broken
    g.update(2.0, [rec(2.0, "failed", "http_5xx")] * 4, [])  # 6/9 > 0.5: streak restarts at 2.0
    assert g.fired is None
    g.update(2.9, [], [])  # window (0.9, 2.9]: 5 failed of 8; held 0.9s
    assert g.fired is None
    g.update(3.0, [], [])
    assert g.fired is not None and g.fired.t == 3.0


def test_error_rate_ignores_throttled_and_small_windows():
    g = guard(kind="error_rate", above=0.5, window=5.0, min_requests=5)
    g.update(10.0, [rec(10.0, "failed", "throttled")] * 10, [])
    assert g.fired is None  # 429s are throttle_rate, not error_rate
    g.update(11.0, [rec(11.0, "failed", "http_5xx")] * 4, [])
    assert g.fired is None  # 4 of 14 requests failed
    g2 = guard(kind="error_rate", above=0.5, window=5.0, min_requests=5)
    g2.update(10.0, [rec(10.0, "failed", "http_5xx")] * 4, [])
    assert g2.fired is None  # fewer than min_requests
    g2.update(10.5, [rec(10.5, "failed", "http_5xx")], [])
    assert g2.fired is not None and g2.fired.reason.endswith("for 0.0s over 5.0s window (5 requests)")


def test_error_rate_accepts_pandas_rows():
    import pandas as pd

    frame = pd.DataFrame([rec(1.0, "failed", "http_5xx"), rec(2.0), {**rec(2.0, "failed", "dropped"), "t_send": None, "t_end": None}])
    g = guard(kind="error_rate", above=0.5, window=5.0, min_requests=3)
    g.update(2.5, [row for _, row in frame.iterrows()], [])
    assert g.fired is not None and g.fired.reason.startswith("error rate 0.67 > 0.50")


def test_latency_ttft_p95():
    g = guard(kind="latency", metric="ttft", stat="p95", above=1.0, window=10.0, min_requests=5, **{"for": 0.0})
    fast = [rec(float(t), ttft=0.2) for t in range(1, 10)]
    g.update(10.0, fast, [])
    assert g.fired is None
    # 9 fast + 1 at 3.0s: nearest rank ceil(0.95 * 10) = 10th value = 3.0 (the same p95 an SLO reports)
    g.update(10.5, [rec(10.5, ttft=3.0)], [])
    assert g.fired is not None
    assert g.fired.reason == "ttft p95 3.000s > 1s for 0.0s over 10.0s window (10 requests)"


def test_latency_ignores_failed_requests_and_needs_min_requests():
    g = guard(kind="latency", metric="e2e", stat="p50", above=0.5, window=10.0, min_requests=3)
    g.update(5.0, [rec(5.0, "failed", "timeout", ttft=None)] * 10 + [rec(5.0), rec(5.0)], [])
    assert g.fired is None  # two successful requests only; their e2e is 1.0s
    g.update(5.5, [rec(5.5, "degraded")], [])
    assert g.fired is not None and g.fired.reason.startswith("e2e p50 1.000s > 0.5s")


def test_latency_itl_pools_gaps():
    g = guard(kind="latency", metric="itl", stat="p99", above=0.1, window=5.0, min_requests=2)
    g.update(3.0, [rec(3.0, itl=[0.02] * 50), rec(3.0, itl=[0.02] * 49 + [0.5])], [])
    assert g.fired is None  # p99 of 100 gaps: position 98.01 -> 0.02 + 0.01*0.48
    g.update(3.5, [rec(3.5, itl=[0.5, 0.5])], [])
    assert g.fired is not None and g.fired.reason.startswith("itl p99 0.500s > 0.1s")


def result(probe: str, ok: bool, reason: str = "ok") -> ProbeResult:
    return ProbeResult(probe=probe, kind="http", t=0.0, ok=ok, latency=None, reason=reason)


def test_probe_failures_counts_consecutive_failures_of_its_probe():
    g = guard(kind="probe_failures", probe="canary", consecutive=3)
    g.update(1.0, [], [result("canary", False, "timeout after 5s"), result("other", False), result("canary", False)])
    g.update(2.0, [], [result("canary", True)])
    g.update(3.0, [], [result("canary", False), result("canary", False)])
    assert g.fired is None
    g.update(4.0, [], [result("other", True), result("canary", False, "status 503 != 200")])
    assert g.fired is not None and g.fired.t == 4.0
    assert g.fired.reason == "probe 'canary' failed 3 times in a row (last: status 503 != 200)"


def test_probe_failures_on_real_probe_results():
    """Failures of a real HTTP probe against a port nobody listens on."""
    spec = HttpProbe(name="health", kind="http", path="/health", timeout=1.0)
    target = ProbeTarget(base_url=f"http://127.0.0.1:{free_port()}", clock=RunClock())

    async def three() -> list[ProbeResult]:
        async with httpx.AsyncClient(trust_env=False) as client:
            return [await HttpCheck(spec).run(client, target) for _ in range(3)]

    results = asyncio.run(three())
    g = guard(kind="probe_failures", probe="health", consecutive=3)
    g.update(1.0, [], results[:2])
    assert g.fired is None
    g.update(2.0, [], results[2:])
    assert g.fired is not None
    assert g.fired.reason == "probe 'health' failed 3 times in a row (last: connection refused)"
