"""The harness self-check: judged on hand-computed figures, and what it does to objectives and the verdict."""

from __future__ import annotations

import pytest

from brownout.spec.objectives import SelfCheckLimits
from brownout.rundata.timeline import PhaseWindow
from brownout.reports import EXIT_CODES, build_results, collect_environment
from brownout.rundata.harness import HarnessObservations
from brownout.reports.selfcheck import judge_harness, schedule_lag_p99
from tests.reports.builders import T0, frame, req, spec, timeline

LIMITS = SelfCheckLimits()
QUIET = HarnessObservations(load_cpu_share=0.4, loop_lag_p99=0.005, loop_lag_max=0.03, cpu_pressure=0.05, steal=0.0)
BUSY_LOOP = QUIET.model_copy(update={"loop_lag_p99": 0.034})


def lagging(late: int, lag: float, total: int = 100) -> list[dict]:
    """`total` requests, the last `late` of them sent `lag` after their schedule, the rest 10 ms after."""
    return [req(i / 10, lag=lag if i >= total - late else 0.01) for i in range(total)]


def test_schedule_lag_p99_is_nearest_rank_over_sent_requests():
    # 100 sent: 99 at 10 ms, one at 500 ms -> sorted[ceil(.99 * 100) - 1] = sorted[98] = 10 ms
    assert schedule_lag_p99(frame(lagging(1, 0.5))) == pytest.approx(0.01)
    # two late ones: sorted[98] is the first of them
    assert schedule_lag_p99(frame(lagging(2, 0.5))) == pytest.approx(0.5)
    # requests never sent have no lag and do not count: 99 at 10 ms plus 50 unsent is still 10 ms
    unsent = [req(20 + i / 10, sent=False, outcome="failed") for i in range(50)]
    assert schedule_lag_p99(frame(lagging(1, 0.5) + unsent)) == pytest.approx(0.01)
    assert schedule_lag_p99(frame([req(t, sched=False) for t in range(10)])) is None   # closed loop


def test_each_exceeded_limit_is_one_reason_with_its_value_and_limit():
    quiet = judge_harness(QUIET, frame(lagging(0, 0.0)), LIMITS)
    assert not quiet.saturated and quiet.reasons == [] and quiet.schedule_lag_p99 == pytest.approx(0.01)
    busy = judge_harness(BUSY_LOOP.model_copy(update={"steal": 0.15}), frame(lagging(2, 0.08)), LIMITS)
    assert busy.saturated
    assert busy.reasons == [
        "the load generator was saturated: schedule lag p99 80 ms > 50 ms",
        "the load generator was saturated: event-loop lag p99 34 ms > 20 ms",
        "the machine was saturated: CPU steal 15% > 10%",
    ]
    assert busy.limits == {"load_cpu_share": 0.9, "schedule_lag_p99": 0.05, "loop_lag_p99": 0.02,
                           "cpu_pressure": 0.9, "steal": 0.1}
    assert busy.observations.loop_lag_max == 0.03


def test_a_figure_at_its_limit_passes_and_one_just_over_reads_over():
    at = judge_harness(QUIET.model_copy(update={"load_cpu_share": 0.9}), frame([]), LIMITS)
    assert not at.saturated
    over = judge_harness(QUIET.model_copy(update={"load_cpu_share": 0.90004}), frame([]), LIMITS)
    assert over.reasons == ["the load generator was saturated: load-process CPU share 90.004% > 90%"]


def test_without_observations_only_the_schedule_lag_is_judged_and_disabled_judges_nothing():
    assert not judge_harness(None, frame(lagging(0, 0.0)), LIMITS).saturated
    late = judge_harness(None, frame(lagging(5, 0.2)), LIMITS)
    assert late.reasons == ["the load generator was saturated: schedule lag p99 200 ms > 50 ms"]
    off = judge_harness(BUSY_LOOP, frame(lagging(5, 0.2)), SelfCheckLimits(enabled=False))
    assert not off.saturated and not off.enabled and off.reasons == []
    assert off.schedule_lag_p99 == pytest.approx(0.2)    # still measured and shown


# --- what saturation does to objectives and the verdict -------------------------------------------

TTFT = {"name": "ttft", "metric": "ttft", "stat": "p95", "op": "<=", "threshold": "500ms"}
AVAIL = {"name": "avail", "metric": "success_rate", "op": ">=", "threshold": "90%", "severity": "critical"}


def run(harness, *, failing=False, slos=(TTFT, AVAIL), steady=None, **scoring):
    """4 req/s for 30 s; during the fault the first token takes 2 s, and with `failing` every other request fails."""
    rows = [req(t / 4) for t in range(40)]
    rows += [req(10 + t / 4, ttft=2.0, outcome="failed" if failing and t % 2 else "ok") for t in range(40)]
    rows += [req(20 + t / 4) for t in range(40)]
    experiment = spec(slos=list(slos), steady_state=steady or {}, scoring=scoring)
    return build_results(experiment, {}, frame(rows), None, timeline(), environment=collect_environment(1),
                         harness=harness)


def test_a_saturated_harness_makes_a_failing_latency_slo_inconclusive_and_the_run_inconclusive():
    results = run(BUSY_LOOP)
    ttft, avail = results.slos
    assert (ttft.status, ttft.inconclusive_reason, ttft.passed) == ("inconclusive", "harness", False)
    assert ttft.message == ("the load generator was saturated: event-loop lag p99 34 ms > 20 ms; "
                            "actual 2 s vs threshold <= 500 ms")
    assert ttft.actual == pytest.approx(2.0)       # the figure is kept, only its judgement withheld
    assert avail.status == "pass"
    assert results.verdict == "inconclusive" and results.exit_code == EXIT_CODES["inconclusive"] == 6
    assert results.harness.saturated and results.score is None and results.score_components == []


def test_a_failing_availability_slo_still_fails_a_saturated_run():
    results = run(BUSY_LOOP, failing=True)
    ttft, avail = results.slos
    assert ttft.inconclusive_reason == "harness" and avail.status == "fail"
    assert results.verdict == "failed" and results.exit_code == 1
    # scored on what can be trusted: avail alone (credit 0.5 * (1 - 0.4 / 0.9) = 5/18), goodput not
    # applicable under saturation, recovered at once (1); shares 0.60 and 0.15 of 0.75
    assert results.score == pytest.approx(100 * (0.60 * 5 / 18 + 0.15 * 1) / 0.75)
    parts = {c.name: c for c in results.score_components}
    assert parts["goodput_retained"].value is None and "1 left out (harness saturated)" in parts["slo_attainment"].explanation


@pytest.mark.parametrize("harness", [None, QUIET])
def test_a_slow_target_on_a_quiet_harness_still_fails(harness):
    results = run(harness)
    assert results.slos[0].status == "fail" and results.slos[0].inconclusive_reason is None
    assert results.verdict == "failed" and results.exit_code == 1 and results.score is not None
    assert not results.harness.saturated


def test_with_the_self_check_off_a_busy_harness_changes_nothing():
    results = run(BUSY_LOOP, self_check={"enabled": False})
    assert results.slos[0].status == "fail" and results.verdict == "failed" and not results.harness.enabled


def test_schedule_lag_in_the_records_alone_saturates_the_run():
    experiment = spec(slos=[TTFT])
    rows = [req(t / 4, lag=0.3 if t % 10 == 0 else 0.0, ttft=2.0) for t in range(120)]   # 10% sent 300 ms late
    results = build_results(experiment, {}, frame(rows), None, timeline(), environment=collect_environment(1))
    assert results.harness.reasons == ["the load generator was saturated: schedule lag p99 300 ms > 50 ms"]
    assert results.verdict == "inconclusive"


def test_goodput_is_judged_on_latency_limits_so_saturation_makes_it_inconclusive():
    goodput = {"name": "goodput", "metric": "goodput", "op": ">=", "threshold": 3.0}
    assert run(None, slos=[TTFT, goodput]).slos[1].status == "fail"      # ttft 2 s > 500 ms: no goodput in the fault
    assert run(BUSY_LOOP, slos=[TTFT, goodput]).slos[1].inconclusive_reason == "harness"


def test_no_data_stays_no_data_under_saturation_and_still_fails():
    tpot = {"name": "tpot", "metric": "tpot", "stat": "p50", "op": "<=", "threshold": "50ms"}   # no t_last spans
    rows = [req(t / 4, tokens=1) for t in range(120)]
    results = build_results(spec(slos=[tpot]), {}, frame(rows), None, timeline(), environment=collect_environment(1),
                            harness=BUSY_LOOP)
    assert results.slos[0].inconclusive_reason == "no_data" and results.verdict == "failed"


def test_a_latency_steady_state_check_of_a_saturated_run_is_inconclusive_too():
    steady = {"checks": [{"name": "fast", "metric": "ttft", "stat": "p95", "op": "<=", "threshold": "50ms"}],
              "recheck_after_recovery": False}
    quiet, busy = run(QUIET, slos=[AVAIL], steady=steady), run(BUSY_LOOP, slos=[AVAIL], steady=steady)
    assert quiet.steady_state[0].status == "fail" and quiet.verdict == "failed"       # ttft 100 ms > 50 ms
    assert busy.steady_state[0].inconclusive_reason == "harness" and busy.verdict == "inconclusive"
    assert not busy.steady_state_held


def test_late_sends_during_warmup_judge_nothing():
    tl = timeline()
    tl.phases.insert(0, PhaseWindow("warmup", T0 - 5, T0))
    rows = [req(t / 4 - 5, lag=0.3) for t in range(20)]              # the start-up hiccup: every warmup send late
    rows += [req(t / 4, ttft=2.0) for t in range(120)]
    results = build_results(spec(slos=[TTFT]), {}, frame(rows), None, tl, environment=collect_environment(1))
    assert results.harness.schedule_lag_p99 == 0.0 and not results.harness.saturated
    assert results.verdict == "failed"
