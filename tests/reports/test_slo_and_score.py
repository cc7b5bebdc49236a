"""SLO evaluation (margins, inconclusive) and the resilience score on constructed cases."""

from __future__ import annotations

import math

import pytest

from brownout.spec.objectives import SLO, Scoring
from brownout.rundata.probes import ProbeResult
from brownout.reports.metrics import failover_time, time_to_recover
from brownout.reports.fmt import format_pair
from brownout.reports.models import RecoveryResult
from brownout.reports.score import goodput_retained, recovery_credit, resilience_score, slo_attainment, slo_credit
from brownout.reports.scoring import phase_metrics
from brownout.reports.slo import evaluate, evaluate_slos, evaluate_steady_state, steady_state_held
from tests.reports.builders import T0, frame, probes, req, spec, timeline


def slo(**kw) -> SLO:
    return SLO(**{"name": "s", **kw})


def judge(objective, actual, inconclusive_passes=False, severity="major"):
    return evaluate(objective, actual, name="s", kind="slo", phase="fault", severity=severity,
                    inconclusive_passes=inconclusive_passes)


def test_latency_slo_relative_margin():
    result = judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), 0.5)
    assert result.status == "pass" and result.passed
    assert result.margin == pytest.approx(0.75) and result.margin_unit == "relative"  # (2 - 0.5) / 2
    assert result.message == "actual 500 ms vs threshold <= 2 s"


def test_rate_slo_absolute_margin_and_failure_message():
    result = judge(slo(metric="success_rate", op=">=", threshold="95%"), 0.9)
    assert result.status == "fail" and not result.passed
    assert result.margin == pytest.approx(-0.05) and result.margin_unit == "absolute"
    assert result.message == "actual 90% vs threshold >= 95%"


def test_strict_ops_and_zero_threshold():
    assert judge(slo(metric="error_budget_burn", op="<", threshold=1.0), 1.0).status == "fail"
    result = judge(slo(metric="requests_per_s", op=">", threshold=0), 3.0)
    assert result.status == "pass" and result.margin == 3.0 and result.margin_unit == "absolute"


def test_inconclusive_fails_unless_the_slo_says_pass():
    objective = slo(metric="ttft", stat="p95", op="<=", threshold="2s")
    failing = judge(objective, None)
    assert failing.status == "inconclusive" and not failing.passed and failing.margin is None
    assert "no data" in failing.message
    assert judge(objective, None, inconclusive_passes=True).passed


def test_infinite_actual_fails_with_infinite_margin():
    result = judge(slo(metric="time_to_recover", op="<=", threshold="30s"), math.inf)
    assert result.status == "fail" and result.margin == -math.inf
    assert "∞" in result.message


def test_slos_and_steady_state_over_phase_windows():
    # baseline fine; fault: 5 ok (ttft .1) and 5 failed; recovery fine; a probe fails once during the fault
    rows = [req(t) for t in range(10)] + [req(10 + t, outcome="failed" if t % 2 else "ok") for t in range(10)]
    rows += [req(20 + t) for t in range(10)]
    experiment = spec(
        probes=[{"name": "health", "kind": "http"}],
        slos=[
            {"name": "avail", "metric": "success_rate", "op": ">=", "threshold": "90%", "severity": "critical"},
            {"name": "ttft", "metric": "ttft", "stat": "p90", "adjusted": True, "op": "<=", "threshold": "1s"},
            {"name": "ttft-plain", "metric": "ttft", "stat": "p90", "op": "<=", "threshold": "1s", "phase": "run"},
            {"name": "probe", "metric": "probe_success_rate", "probe": "health", "op": ">=", "threshold": "50%"},
            {"name": "rto", "metric": "time_to_recover", "op": "<=", "threshold": "5s"},
        ],
        steady_state={"probes": ["health"], "checks": [
            {"name": "base-ok", "metric": "success_rate", "op": ">=", "threshold": "99%"}]},
        scoring={"recovery_min_requests": 2},  # one request a second: judge 2 s buckets
    )
    runs = probes([ProbeResult("health", "http", T0 + t, t != 12, 0.01, "ok") for t in (1, 5, 12, 15, 25)])
    tl = timeline()
    phases = phase_metrics(frame(rows), runs, tl, experiment.scoring, ["health"])
    recovery = time_to_recover(frame(rows), tl, experiment.scoring, experiment.scoring.watch_for(experiment.load.stream))
    results = {r.name: r for r in evaluate_slos(experiment, phases, recovery, failover_time(frame(rows), tl))}
    assert results["avail"].actual == pytest.approx(0.5) and results["avail"].status == "fail"
    assert results["ttft"].actual == math.inf and results["ttft"].status == "fail"
    assert results["ttft-plain"].actual == pytest.approx(0.1, abs=1e-6) and results["ttft-plain"].status == "pass"
    assert results["probe"].actual == pytest.approx(0.5) and results["probe"].status == "pass"
    assert results["rto"].actual == 0.0 and results["rto"].status == "pass"  # no rollback: from 20 s, fine at once
    steady = [r for start, end, label in ((T0, T0 + 10, "before faults"), (T0 + 25, T0 + 30, "after recovery"))
              for r in evaluate_steady_state(experiment, frame(rows), runs, start, end, label=label)]
    assert [(r.name, r.phase, r.status) for r in steady] == [
        ("probe-health", "before faults", "pass"), ("base-ok", "before faults", "pass"),
        ("probe-health", "after recovery", "pass"), ("base-ok", "after recovery", "pass"),
    ]
    assert steady_state_held(steady)
    assert steady[0].summary() == "probe-health [before faults]: actual 100% vs threshold >= 100% -> pass"


def test_steady_state_fails_on_a_probe_failure_and_on_no_data():
    experiment = spec(probes=[{"name": "health", "kind": "http"}], steady_state={
        "probes": ["health"], "min_probe_success": 0.75,
        "checks": [{"name": "ok", "metric": "success_rate", "op": ">=", "threshold": "99%"}]})
    runs = [ProbeResult("health", "http", T0 + t, t != 4, 0.01, "ok") for t in range(0, 10, 2)]  # 4 of 5 pass
    rows = frame([req(t) for t in range(10)] + [req(5.5, outcome="failed")])
    steady = evaluate_steady_state(experiment, rows, runs, T0, T0 + 10)
    assert [(r.status, r.actual) for r in steady] == [("pass", pytest.approx(0.8)), ("fail", pytest.approx(10 / 11))]
    empty = evaluate_steady_state(experiment, None, None, T0, T0 + 10)
    assert [r.status for r in empty] == ["inconclusive", "inconclusive"]
    assert not steady_state_held(empty)


# --- the score -------------------------------------------------------------------------------

def test_slo_credit_partial_by_miss():
    assert slo_credit(judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), 1.0)) == 1.0
    assert slo_credit(judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), 3.0)) == pytest.approx(0.25)
    assert slo_credit(judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), 5.0)) == 0.0
    assert slo_credit(judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), math.inf)) == 0.0
    assert slo_credit(judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), None)) == 0.0
    assert slo_credit(judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), None, True)) == 1.0


def test_slo_attainment_weighted_by_severity():
    critical_miss = judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), 3.0, severity="critical")
    minor_pass = judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), 1.0, severity="minor")
    value, why = slo_attainment([critical_miss, minor_pass])
    assert value == pytest.approx((3 * 0.25 + 1 * 1.0) / 4)
    assert "1 of 2" in why
    assert slo_attainment([])[0] is None


@pytest.mark.parametrize("took, expected", [(5.0, 1.0), (10.0, 1.0), (20.0, 0.5), (30.0, 0.0), (40.0, 0.0)])
def test_recovery_credit_against_objective(took, expected):
    result = RecoveryResult(status="recovered", value=took)
    assert recovery_credit(result, Scoring(recovery_objective=10.0))[0] == pytest.approx(expected)


def test_recovery_credit_without_objective_or_recovery():
    assert recovery_credit(RecoveryResult(status="recovered", value=99.0), Scoring())[0] == 1.0
    assert recovery_credit(RecoveryResult(status="never", value=math.inf), Scoring(recovery_objective=10.0))[0] == 0.0
    assert recovery_credit(RecoveryResult(status="inconclusive", value=None), Scoring())[0] is None


def _half_goodput_phases(experiment):
    # baseline: 20 ok in 10 s (2/s); fault: 10 ok + 10 failed in 10 s (1/s)
    rows = [req(t / 2) for t in range(20)]
    rows += [req(10 + t / 2, outcome="failed" if t % 2 else "ok") for t in range(20)]
    rows += [req(20 + t / 2) for t in range(20)]
    return phase_metrics(frame(rows), probes([]), timeline(), experiment.scoring, [])


def test_score_combines_weighted_parts():
    experiment = spec(scoring={"recovery_objective": 10.0})
    phases = _half_goodput_phases(experiment)
    assert goodput_retained(phases["baseline"], phases["fault"])[0] == pytest.approx(0.5)
    passing = [judge(slo(metric="ttft", stat="p95", op="<=", threshold="2s"), 1.0)]
    score, parts = resilience_score(passing, phases, RecoveryResult(status="recovered", value=10.0), experiment.scoring)
    # 100 * (0.60 * 1 + 0.25 * 0.5 + 0.15 * 1)
    assert score == pytest.approx(87.5)
    assert [(p.name, p.points) for p in parts] == [
        ("slo_attainment", pytest.approx(60.0)), ("goodput_retained", pytest.approx(12.5)), ("recovery", pytest.approx(15.0))]


def test_score_shares_out_weights_of_parts_that_do_not_apply():
    experiment = spec()
    phases = _half_goodput_phases(experiment)
    score, parts = resilience_score([], phases, RecoveryResult(status="inconclusive", value=None), experiment.scoring)
    assert score == pytest.approx(50.0)  # only goodput applies: 0.5 of 100
    assert [p.value for p in parts] == [None, pytest.approx(0.5), None]
    score, _ = resilience_score([], {}, RecoveryResult(status="inconclusive", value=None), experiment.scoring)
    assert score is None


def test_goodput_limits_come_from_latency_slos_when_none_are_set():
    from brownout.reports.scoring import effective_scoring

    experiment = spec(slos=[
        {"name": "ttft", "metric": "ttft", "stat": "p95", "op": "<=", "threshold": "2s"},
        {"name": "ttft-p50", "metric": "ttft", "stat": "p50", "op": "<", "threshold": "500ms"},
        {"name": "e2e", "metric": "e2e", "stat": "p99", "op": "<=", "threshold": "10s"},
        {"name": "avail", "metric": "success_rate", "op": ">=", "threshold": "99%"},
    ])
    criteria = effective_scoring(experiment).goodput
    assert (criteria.ttft, criteria.tpot, criteria.e2e) == (0.5, None, 10.0)
    explicit = spec(slos=experiment.model_dump(mode="json")["slos"], scoring={"goodput": {"tpot": "50ms"}})
    assert effective_scoring(explicit).goodput.ttft is None and effective_scoring(explicit).goodput.tpot == 0.05


# --- displayed values agree with the status ----------------------------------------------------

@pytest.mark.parametrize("actual, threshold, metric, expected", [
    (0.989987, 0.99, "success_rate", ("98.999%", "99%")),      # 4 digits would print 99% for a fail
    (0.99, 0.99, "success_rate", ("99%", "99%")),              # equal values read equal
    (0.990013, 0.99, "success_rate", ("99.001%", "99%")),      # a near pass reads as a pass
    (2.0004, 2.0, "ttft", ("2.0004 s", "2 s")),
    (0.9996, 1.0, "ttft", ("999.6 ms", "1 s")),                # not "1e+03 ms", nor "1 s" for a pass
    (0.5, 2.0, "ttft", ("500 ms", "2 s")),                     # far apart: default digits
    (None, 2.0, "ttft", ("no data", "2 s")),
    (math.inf, 30.0, "time_to_recover", ("∞", "30 s")),
])
def test_an_actual_next_to_its_threshold_reads_differently_whenever_it_differs(actual, threshold, metric, expected):
    assert format_pair(actual, threshold, metric) == expected


def test_a_near_miss_message_does_not_contradict_its_status():
    objective = slo(metric="success_rate", op=">=", threshold="99%")
    miss = judge(objective, 0.989987)
    assert miss.status == "fail" and miss.message == "actual 98.999% vs threshold >= 99%"
    exact = judge(objective, 0.99)
    assert exact.status == "pass" and exact.message == "actual 99% vs threshold >= 99%"
    assert judge(slo(metric="ttft", stat="p95", op="<", threshold="1s"), 0.9996).message == "actual 999.6 ms vs threshold < 1 s"


# --- one story per run: the score ------------------------------------------------------------------

def _slow_after_recovery(status="passed"):
    """4 req/s, all ok; in the last 5 s (the 'after recovery' steady-state window) responses take 3 s."""
    from brownout.reports import build_results, collect_environment

    experiment = spec(steady_state={"checks": [{"name": "e2e", "metric": "e2e", "stat": "p95", "op": "<=", "threshold": "2s"}]})
    rows = [req(t / 4, e2e=3.0 if t >= 100 else 1.0) for t in range(120)]
    return build_results(experiment, {}, frame(rows), None, timeline(), status=status, environment=collect_environment(1))


def test_a_steady_state_that_failed_after_recovery_lowers_the_score_like_a_failed_slo():
    results = _slow_after_recovery()
    assert [(r.phase, r.status) for r in results.steady_state] == [("before faults", "pass"), ("after recovery", "fail")]
    assert results.verdict == "failed" and results.recovery.status == "recovered"
    # attainment over both checks (major, 2 each): (2 * 1 + 2 * 0.5 * (1 - 1/2)) / 4 = 0.625;
    # goodput retained 1, recovered 1: 100 * (0.60 * 0.625 + 0.25 + 0.15) = 77.5, no longer 100
    assert results.score == pytest.approx(77.5)
    assert "1 of 2 SLOs and steady-state checks passed" in results.score_components[0].explanation


@pytest.mark.parametrize("status", ["aborted", "not_steady", "error", "interrupted"])
def test_a_run_that_was_not_judged_to_the_end_has_no_score(status):
    results = _slow_after_recovery(status)
    assert results.verdict == status and results.score is None and results.score_components == []
    assert '"score":null' in results.model_dump_json()
