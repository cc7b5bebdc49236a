"""The load subprocess against a real fake server on loopback: counts, timings, errors, workers, stop."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time

import pytest

from brownout.loadgen import start_load
from brownout.rundata.records import load_records
from brownout.rundata.clock import RunClock
from brownout.loadgen.schedule import PoissonTimer
from brownout.processes import free_port, pid_alive
from tests.loadgen.support import run_on_time, run_to_end

pytestmark = pytest.mark.timeout(60)




def _after_ready(run, df):
    """The arrivals scheduled once the load process was ready to send. On a busy machine it may import
    Locust past the plan's start; the arrivals before that go late by design (it reports `ready_at`)."""
    ready = run.progress().ready_at
    assert ready is not None
    return df[df.t_sched >= ready]


def test_constant_rate_sends_on_schedule(fake_server, make_plan):
    plan = make_plan(fake_server.url, {"arrival": {"kind": "constant", "rate": "20/s"}}, duration=2.0, lead=3.0,
                     headers={"x-fake-tokens": "4"})
    run, df = run_to_end(plan)
    assert len(df) == 40
    assert set(df.outcome) == {"ok"}
    on_time = _after_ready(run, df)
    lag = (on_time.t_send - on_time.t_sched).sort_values()
    assert lag.min() >= 0
    assert lag.quantile(0.99) < 0.05, lag.describe()
    assert df.t_sched.min() == pytest.approx(plan.start_at)
    assert df.t_sched.max() < plan.end_at
    progress = run.progress()
    assert progress.state == "done" and progress.ok == 40 and progress.sent == 40


def test_poisson_sends_the_seeded_schedule(fake_server, make_plan):
    load = {"arrival": {"kind": "poisson", "rate": "30/s"}, "seed": 7}
    plan = make_plan(fake_server.url, load, duration=2.0, lead=3.0, headers={"x-fake-tokens": "2"})
    expected = list(itertools.takewhile(lambda t: t < plan.end_at, PoissonTimer(30, 1.0, 7).times(plan.start_at)))
    run, df = run_to_end(plan)
    assert 30 <= len(expected) <= 90
    assert len(df) == len(expected)
    assert sorted(df.t_sched) == pytest.approx(expected)
    on_time = _after_ready(run, df)
    assert (on_time.t_send - on_time.t_sched).quantile(0.99) < 0.05


def test_closed_loop_keeps_n_in_flight(fake_server, make_plan):
    headers = {"x-fake-ttft-ms": "50", "x-fake-itl-ms": "25", "x-fake-tokens": "4"}
    plan = make_plan(fake_server.url, {"arrival": {"kind": "concurrency", "users": 3}}, duration=1.5, headers=headers,
                     lead=4.0)
    run, df = run_to_end(plan)
    assert df.t_sched.isna().all() and set(df.outcome) == {"ok"}
    # concurrency at many instants inside the run (once the load process was ready), counted from the records
    begin = max(plan.start_at, run.progress().ready_at)
    assert begin < plan.end_at - 1.0, "the load process was ready too late to judge"
    probes = [begin + 0.2 + i * 0.04 for i in range(20)]
    levels = [int(((df.t_send <= t) & (df.t_end > t)).sum()) for t in probes]
    assert max(levels) == 3
    assert sum(levels) / len(levels) >= 2.5, levels


def test_ttft_and_itl_match_known_delays(fake_server, make_plan):
    headers = {"x-fake-ttft-ms": "60", "x-fake-itl-ms": "20", "x-fake-tokens": "6"}
    plan = make_plan(fake_server.url, {"arrival": {"kind": "constant", "rate": "5/s"}}, duration=1.0, headers=headers)
    _, df = run_to_end(plan)
    assert len(df) == 5 and set(df.outcome) == {"ok"}
    ttft = df.t_first - df.t_send
    assert ttft.min() >= 0.058 and ttft.median() < 0.09, ttft.tolist()
    gaps = sorted(g for row in df.itl for g in row)
    assert len(gaps) == 5 * 5
    assert 0.015 < gaps[len(gaps) // 2] < 0.035, gaps
    assert (df.output_tokens == 6).all() and set(df.token_source) == {"usage"}


MODES = ["ok", "reset", "cut", "nodone", "stall", "malformed", "429", "500", "404", "error_body", "empty",
         "nousage", "other_model", "degraded_header"]
EXPECTED = {
    "ok": ("ok", None), "reset": ("failed", "connection_reset"), "cut": ("failed", "stream_cut"),
    "nodone": ("failed", "stream_cut"), "stall": ("failed", "timeout"), "malformed": ("failed", "malformed_sse"),
    "429": ("failed", "throttled"), "500": ("failed", "http_5xx"), "404": ("failed", "http_4xx"),
    "error_body": ("failed", "error_body"), "empty": ("failed", "empty_completion"), "nousage": ("ok", None),
    "other_model": ("degraded", None), "degraded_header": ("degraded", None),
}


def test_each_failure_is_classified(fake_server, make_plan):
    n = len(MODES)
    headers = {"x-fake-modes": ",".join(MODES), "x-fake-tokens": "5"}
    load = {"arrival": {"kind": "constant", "rate": f"{2 * n}/s"}, "timeout": "1s", "drain": "3s"}
    plan = make_plan(fake_server.url, load, duration=1.0, headers=headers)
    run, _ = run_to_end(plan)
    records = [json.loads(line) for line in run.record_paths()[0].read_text().splitlines()]
    assert len(records) == 2 * n
    for rec in records:
        mode = MODES[int(rec["request_id"].rsplit("-", 1)[1]) % n]
        assert (rec["outcome"], rec["error_class"]) == EXPECTED[mode], (mode, rec["error"])
        if mode == "nousage":
            assert (rec["output_tokens"], rec["token_source"]) == (5, "chunks")
        if mode == "ok":
            assert (rec["output_tokens"], rec["token_source"], rec["input_tokens"]) == (5, "usage", 3)
        if mode == "stall":
            assert 0.9 < rec["t_end"] - rec["t_send"] < 1.5


@pytest.mark.parametrize(
    "request_kind, stream",
    [("completions", True), ("chat", False), ("embeddings", False), ("rag", False)],
)
def test_request_kinds(fake_server, make_plan, request_kind, stream):
    load = {"arrival": {"kind": "constant", "rate": "10/s"}, "request": request_kind, "stream": stream}
    _, df = run_to_end(make_plan(fake_server.url, load, duration=0.5, headers={"x-fake-tokens": "3", "x-fake-region": "eu"},
                           served_by={"header": "x-sandbox-region", "regions": {"eu": "eu-west"}}))
    assert len(df) == 5
    assert set(df.outcome) == {"ok"}, df.error.tolist()
    assert set(df.served_by) == {"eu"} and set(df.region) == {"eu-west"} and set(df.kind) == {request_kind}
    if stream:
        assert df.t_first.notna().all() and (df.output_tokens == 3).all()
    else:
        assert df.t_first.isna().all() and df.t_end.notna().all()


def test_two_workers_merge_into_one_data_set_and_start_on_schedule(fake_server, make_plan):
    load = {"arrival": {"kind": "constant", "rate": "20/s"}, "workers": 2}
    plan = make_plan(fake_server.url, load, duration=1.5, lead=6.0, headers={"x-fake-tokens": "2"})
    run, df, plan = run_on_time(plan)
    assert len(df) == 30 and df.request_id.is_unique
    # local workers start with the master and share its clock: both ready before the first arrival, none late
    assert run.progress().ready_at < plan.start_at, "a worker was ready after the first planned arrival"
    first = df.sort_values("t_sched").groupby("worker").head(5)
    assert ((first.t_send - first.t_sched) < 0.25).all(), (first.t_send - first.t_sched).tolist()
    assert set(df.worker) == {"w0", "w1"}
    assert (df.worker == "w0").sum() == 15
    assert set(df.outcome) == {"ok"}
    assert run.progress().workers == 2 and run.progress().ok == 30


def test_unreachable_target_fails_fast_and_exits_on_time(make_plan):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    plan = make_plan(url, {"arrival": {"kind": "constant", "rate": "10/s"}}, duration=1.0)
    run = start_load(plan)
    try:
        code = run.wait(plan.end_at - time.time() + 5.0)
    finally:
        run.stop()
    df = load_records(run.record_paths())
    assert code == 0 and len(df) == 10
    assert set(df.error_class) == {"connect_refused"} and set(df.outcome) == {"failed"}


def test_full_cap_drops_and_sigterm_abandons(fake_server, make_plan):
    load = {"arrival": {"kind": "constant", "rate": "20/s"}, "max_in_flight": 3, "timeout": "20s"}
    plan = make_plan(fake_server.url, load, duration=10.0, headers={"x-fake-mode": "stall"})
    run = start_load(plan)
    try:
        while time.time() < plan.start_at + 1.0:
            time.sleep(0.05)
        guard_view = run.records_since(plan.start_at)
        assert any(r["error_class"] == "dropped" for r in guard_view)
        t = time.monotonic()
        run.stop(timeout=10)
        # well before the stalled requests' 20 s timeout and the 10 s kill: the abandoned records below show the
        # process wrote them on its way out (a killed one writes nothing)
        assert time.monotonic() - t < 10.0
        assert not pid_alive(run.pid)
    finally:
        run.stop()
    df = load_records(run.record_paths())
    sent = df[df.error_class != "dropped"]
    assert len(sent) == 3
    assert set(sent.outcome) == {"abandoned"} and sent.error_class.isna().all()
    assert sent.error.str.contains("stopped while in flight").all()
    dropped = df[df.error_class == "dropped"]
    assert len(dropped) >= 15 and dropped.t_send.isna().all()
    assert set(dropped.drop_reason) == {"in_flight_cap"}  # sent requests held the slots: the cap, not our backlog
    assert df.request_id.is_unique


def test_header_templates_are_resolved_by_the_load_process_and_never_written(fake_server, make_plan, monkeypatch):
    monkeypatch.setenv("BROWNOUT_TEST_SECRET_TOKENS", "3")
    plan = make_plan(fake_server.url, {"arrival": {"kind": "constant", "rate": "5/s"}}, duration=0.6,
                     headers={"x-fake-tokens": "${BROWNOUT_TEST_SECRET_TOKENS}"})
    _, df = run_to_end(plan)
    assert len(df) and set(df["output_tokens"]) == {3}
    written = (plan.out_dir / "plan.json").read_text()
    assert "${BROWNOUT_TEST_SECRET_TOKENS}" in written and '"3"' not in written


def test_load_process_shares_the_callers_clock_anchor(fake_server, make_plan):
    """A run clock shifted 1000 s ahead: only a load process that reuses the anchor sends on this schedule."""
    shifted = RunClock((time.time() + 1000.0, time.monotonic()))
    plan = make_plan(fake_server.url, {"arrival": {"kind": "constant", "rate": "5/s"}}, duration=1.0)
    start = shifted.now() + 2.0
    plan = dataclasses.replace(plan, start_at=start, end_at=start + 1.0, clock_anchor=shifted.anchor)
    run, df = run_to_end(plan, wait=15.0)
    assert len(df) == 5 and set(df.outcome) == {"ok"}
    on_time = _after_ready(run, df)
    assert len(on_time) >= 1
    assert (on_time.t_send - on_time.t_sched).between(0, 0.05).all(), (df.t_send - df.t_sched).tolist()
    assert abs(df.t_end.max() - shifted.now()) < 10.0  # the shift is 1000 s: seconds of process exit on a busy machine are noise


def test_normal_end_drains_in_flight_requests_and_abandons_only_the_rest(fake_server, make_plan):
    """Requests still streaming when the schedule ends finish within `drain` and keep what they measured;
    one that outlasts the drain is `abandoned` (never a `timeout` failure of the target)."""
    slow = {"x-fake-ttft-ms": "900", "x-fake-itl-ms": "50", "x-fake-tokens": "3"}
    plan = make_plan(fake_server.url, {"arrival": {"kind": "constant", "rate": "4/s"}, "drain": "4s", "timeout": "10s"},
                     duration=1.0, headers=slow)
    run, df = run_to_end(plan)
    assert len(df) == 4 and set(df.outcome) == {"ok"}, df[["outcome", "error"]].to_dict("records")
    assert (df.t_end > plan.end_at).all()  # they were in flight when the schedule ended
    progress = run.progress()
    assert progress.abandoned == 0 and progress.loop_lag_p99 is not None and progress.cpu_share is not None

    stalled = make_plan(fake_server.url, {"arrival": {"kind": "constant", "rate": "4/s"}, "drain": "0.5s", "timeout": "20s"},
                        duration=0.5, headers={"x-fake-mode": "stall"})
    run, df = run_to_end(stalled)
    assert len(df) == 2 and set(df.outcome) == {"abandoned"}
    assert df.error.str.contains("drain ended").all()
    assert run.progress().abandoned == 2
