"""Backlog accounting: arrivals the load generator could not send on time are its own drops, never target errors."""

from __future__ import annotations

import math

import pytest

from brownout.reports import build_results, collect_environment
from brownout.reports.failures import arrivals_line
from brownout.rundata.timeline import PhaseWindow, Timeline
from tests.loadgen.support import run_to_end
from tests.reports.builders import spec

pytestmark = pytest.mark.timeout(90)

RATE = 8_000  # arrivals/s for 1 s: far beyond what one gevent process sends (a few thousand a second)


def test_a_rate_beyond_the_load_generator_is_its_backlog_not_target_errors(fake_server, make_plan):
    load = {"arrival": {"kind": "constant", "rate": f"{RATE}/s"}, "max_in_flight": 5000, "drain": "10s"}
    plan = make_plan(fake_server.url, load, duration=1.0, lead=3.0, headers={"x-fake-tokens": "1"})
    run, df = run_to_end(plan, wait=60.0)
    assert len(df) == RATE and df.request_id.is_unique  # every arrival ends as exactly one record
    dropped = df[df.error_class == "dropped"]
    assert len(dropped) > RATE // 10, "the load generator kept up with a rate it should not hold"
    assert set(dropped.drop_reason) == {"load_backlog"} and dropped.t_send.isna().all()
    sent = df[df.t_send.notna()]
    # the fake server failed nothing; on a machine this busy a few sent ones may outlast the drain (the harness's)
    assert set(sent.outcome) <= {"ok", "abandoned"} and (sent.outcome == "ok").any()
    assert dropped.error.str.contains(r"behind its schedule|had not sent yet").all()
    assert run.progress().dropped_backlog == len(dropped)

    third = (plan.end_at - plan.start_at) / 3  # a fault-free run: baseline, "fault" and recovery on the load's span
    bounds = [plan.start_at + i * third for i in range(4)]
    timeline = Timeline(run_start=bounds[0], run_end=bounds[3], phases=[
        PhaseWindow(name, bounds[i], bounds[i + 1]) for i, name in enumerate(("baseline", "fault", "recovery"))])
    experiment = spec(load=load, phases={"warmup": 0, "baseline": third, "fault": third, "recovery": third})
    results = build_results(experiment, {}, df, None, timeline, environment=collect_environment(1))
    for name in ("baseline", "fault", "recovery", "run"):
        window = results.phases[name]
        assert window.errors_by_class == {} and window.error_rate in (0.0, None), name
    assert results.recovery.status != "never"
    assert results.recovery.value is None or not math.isinf(results.recovery.value)
    assert results.arrivals.dropped == len(dropped) and results.arrivals.drop_reasons == {"load_backlog": len(dropped)}
    assert "by the harness (load generator backlog" in arrivals_line(results)
    assert results.harness.saturated and any("dropped as its own backlog" in r for r in results.harness.reasons)
