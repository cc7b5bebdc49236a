"""Impact lines and per-bucket breakdowns on a constructed game day: two faults in sequence.

Baseline 0-10 s, fault phase 10-40 s, recovery 40-50 s; 4 requests a second, TTFT 100 ms when ok.
Fault `kill` in at 12 s, rolled back at 18 s: requests 12-22 s fail (connect refused 12-16 s, then
http_5xx to 22 s, 4 s after the rollback). Fault `slow` in at 26 s, rolled back at 32 s: ok, but TTFT
500 ms from 26 to 32 s. Default scoring: buckets of 2 s, a hold of 3 buckets, 5 requests to judge one.
"""

from __future__ import annotations

import math

import pytest

from brownout.reports import build_results, collect_environment
from brownout.reports.impact import headline_latency, impact_spans
from brownout.rundata.timeline import FaultWindow
from tests.reports.builders import T0, frame, req, spec, timeline

KILL = FaultWindow("kill", "sandbox-replica-kill", injected_at=T0 + 12, rolled_back_at=T0 + 18, targets=["llm-a1"])
SLOW = FaultWindow("slow", "sandbox-latency", injected_at=T0 + 26, rolled_back_at=T0 + 32, targets=["gateway"])
NEVER = FaultWindow("late", "sandbox-latency", injected_at=None, planned_inject_at=T0 + 45, error="inject refused")
GAME_DAY = timeline(baseline=10, fault=30, recovery=10, faults=[KILL, SLOW, NEVER])


def request(t: float):
    if 12 <= t < 16:
        return req(t, outcome="failed", error_class="connect_refused")
    if 16 <= t < 22:
        return req(t, outcome="failed", error_class="http_5xx", status=503)
    region = "eu" if 14 <= t < 30 else "us"
    return req(t, ttft=0.5 if 26 <= t < 32 else 0.1, region=region)


@pytest.fixture(scope="module")
def results():
    experiment = spec(slos=[{"name": "ttft", "metric": "ttft", "stat": "p99", "op": "<=", "threshold": "1s"}],
                      phases={"warmup": 0, "baseline": 10, "fault": 30, "recovery": 10})
    rows = [request(i / 4) for i in range(50 * 4)]
    return build_results(experiment, {}, frame(rows), None, GAME_DAY, environment=collect_environment(1))


def test_each_fault_window_is_judged_to_the_next_injection():
    spans = [(f.fault, since - T0, until - T0) for f, since, until in impact_spans(GAME_DAY)]
    assert spans == [("kill", 18, 26), ("slow", 32, 50)]


def test_the_kill_costs_its_errors_by_class_and_is_back_after_its_own_rollback(results):
    kill = next(i for i in results.impacts if i.fault == "kill")
    assert kill.status == "back" and kill.targets == ["llm-a1"]
    # 22-24 and 24-26 within; the hold is 3 buckets but the next fault (26 s) cuts the stretch: back at 22 s
    assert kill.back_at == T0 + 22 and kill.back_after == pytest.approx(4.0)
    assert kill.errors_by_class == {"http_5xx": 24, "connect_refused": 16}
    assert kill.errors == 40 and kill.worst_success_rate == 0.0 and kill.worst_at == T0 + 12
    assert kill.latency.label == "ttft p99" and kill.latency_baseline == pytest.approx(0.1)


def test_the_slow_fault_costs_latency_not_errors(results):
    slow = next(i for i in results.impacts if i.fault == "slow")
    assert slow.errors == 0 and slow.degraded == 0 and slow.worst_success_rate == 1.0
    assert slow.latency_during == pytest.approx(0.5) and slow.latency_change == pytest.approx(4.0, rel=1e-4)
    assert slow.status == "back" and slow.back_at == T0 + 32 and slow.back_after == pytest.approx(0.0)


def test_a_fault_that_never_went_in_says_so(results):
    late = next(i for i in results.impacts if i.fault == "late")
    assert late.status == "not_injected" and late.reason == "inject refused" and late.requests == 0
    assert [i.fault for i in results.impacts] == ["kill", "slow", "late"]


def test_headline_latency_falls_back_to_the_watched_one():
    assert headline_latency(spec()).label == "ttft p95"
    assert headline_latency(spec(load={"arrival": {"kind": "constant", "rate": "5/s"}, "stream": False})).label == "e2e p95"


def test_buckets_carry_percentiles_errors_by_class_and_regions(results):
    by_start = {round(b.start - T0): b for b in results.buckets}
    assert by_start[12].errors_by_class == {"connect_refused": 8} and by_start[12].regions == {}
    assert by_start[20].errors_by_class == {"http_5xx": 8}
    assert by_start[14].regions == {} and by_start[22].regions == {"eu": 8} and by_start[30].regions == {"us": 8}
    assert by_start[28].latency["ttft"] == {"p50": pytest.approx(0.5), "p95": pytest.approx(0.5), "p99": pytest.approx(0.5)}
    assert set(by_start[0].latency) == {"ttft", "e2e"}          # no ITL gaps recorded: no ITL series
    assert by_start[14].latency == {}                           # nothing answered: nothing to draw
    assert not any(math.isnan(v or 0) for b in results.buckets for s in b.latency.values() for v in s.values())


def test_requests_in_flight_when_the_fault_hit_count_against_it():
    from brownout.reports.impact import hit_records

    rows = frame([req(5.0, e2e=0.5), req(11.0, e2e=0.9), req(11.5, outcome="failed", error_class="stream_cut", e2e=1.0),
                  req(13.0), req(30.0)])
    picked = hit_records(rows, T0 + 12, T0 + 20, timeout=5.0)
    assert sorted(picked["t_sched"] - T0) == [11.5, 13.0]      # 11.0 ended before the kill; 5.0 is beyond the timeout


def test_a_stream_cut_by_the_inject_call_itself_counts():
    """injected_at is stamped after the inject call returned; a stream the kill cut just before that stamp is its cost."""
    kill = FaultWindow("kill", "sandbox-replica-kill", injected_at=T0 + 12.4, rolled_back_at=T0 + 18,
                       planned_inject_at=T0 + 12.0)
    rows = [req(i / 4) for i in range(48)] + [req(11.5, outcome="failed", error_class="stream_cut", e2e=0.7)]
    rows += [req(12 + i / 4) for i in range(38 * 4)]
    results = build_results(spec(phases={"warmup": 0, "baseline": 10, "fault": 30, "recovery": 10}), {}, frame(rows),
                            None, timeline(baseline=10, fault=30, recovery=10, faults=[kill]),
                            environment=collect_environment(1))
    assert results.impacts[0].errors_by_class == {"stream_cut": 1}      # it ended at 12.2 s, before the 12.4 s stamp
