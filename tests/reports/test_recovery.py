"""time_to_recover and failover_time on constructed runs (phases of 10 s from T0, buckets of 2 s)."""

from __future__ import annotations

import math

import pytest

from brownout.experiments.spec.objectives import Scoring
from brownout.experiments.timeline import FaultWindow
from brownout.reports.metrics import failover_time, time_to_recover
from tests.reports.builders import T0, frame, req, timeline

SCORING = Scoring(bucket=2.0, recovery_tolerance=0.2, recovery_watch=["success_rate", "ttft_p95"])
KILL = FaultWindow("kill", "sandbox-replica-kill", injected_at=T0 + 10, rolled_back_at=T0 + 18)


def run(recovery_row, *, faults=(KILL,), baseline_rows=True):
    """Two requests a second: ok at baseline, failed during the fault, `recovery_row(t)` from 20 s."""
    rows = [req(t / 2) for t in range(20)] if baseline_rows else []
    rows += [req(10 + t / 2, outcome="failed") for t in range(20)]
    rows += [recovery_row(20 + t / 2) for t in range(20)]
    return frame(rows), timeline(faults=list(faults))


def test_recovers_at_first_bucket_that_stays_within_tolerance():
    # buckets from the rollback at 18 s: 18-20 (fault), 20-22 (still failing), 22-30 fine
    df, tl = run(lambda t: req(t, outcome="failed") if t < 22 else req(t, ttft=0.11))
    result = time_to_recover(df, tl, SCORING)
    assert result.status == "recovered"
    assert result.since == T0 + 18 and result.recovered_at == T0 + 22
    assert result.value == pytest.approx(4.0)
    assert result.baseline["success_rate"] == 1.0
    assert result.baseline["ttft_p95"] == pytest.approx(0.1, abs=1e-6)


def test_a_relapse_moves_recovery_past_it():
    # fine from 22 s, but TTFT p95 0.5 s (> 0.1 * 1.2) in the 24-26 bucket: recovered only from 26 s
    df, tl = run(lambda t: req(t, outcome="failed") if t < 22 else req(t, ttft=0.5 if 24 <= t < 26 else 0.1))
    assert time_to_recover(df, tl, SCORING).value == pytest.approx(8.0)


def test_success_rate_within_tolerance_counts_as_recovered():
    # one failure in four from 20 s: success 0.75 < 0.8 -> never; one in five (0.8) -> recovered at once
    df, tl = run(lambda t: req(t, outcome="failed") if (t * 2) % 4 == 0 else req(t))
    assert time_to_recover(df, tl, SCORING).status == "never"
    df, tl = run(lambda t: req(t, outcome="failed") if (t * 2) % 5 == 0 else req(t))
    tolerant = Scoring(bucket=2.5, recovery_tolerance=0.2, recovery_watch=["success_rate"])
    # buckets of 2.5 s from 18 s: 18-20.5 holds the fault's tail, from 20.5 on 1 in 5 fails (0.8 >= 0.8)
    result = time_to_recover(df, tl, tolerant)
    assert result.status == "recovered" and result.recovered_at == pytest.approx(T0 + 20.5)


def test_never_recovered_is_explicit_and_infinite():
    df, tl = run(lambda t: req(t, outcome="failed") if t >= 28 else req(t))
    result = time_to_recover(df, tl, SCORING)
    assert result.status == "never" and result.value == math.inf


def test_no_baseline_data_is_no_data():
    df, tl = run(lambda t: req(t), baseline_rows=False)
    result = time_to_recover(df, tl, SCORING)
    assert result.status == "no_data" and result.value is None
    assert "success_rate" in result.reason


def test_without_rollback_recovery_is_measured_from_the_fault_phase_end():
    unrolled = FaultWindow("kill", "sandbox-replica-kill", injected_at=T0 + 10)
    df, tl = run(lambda t: req(t, outcome="failed") if t < 23 else req(t), faults=(unrolled,))
    result = time_to_recover(df, tl, SCORING)
    assert result.since == T0 + 20 and result.value == pytest.approx(4.0)  # buckets 20-22, 22-24 bad; 24- good


REGION = FaultWindow("east-down", "sandbox-region-down", injected_at=T0 + 10, rolled_back_at=T0 + 20, region="us-east")


def test_failover_time_from_first_failure_to_first_answer_from_another_region():
    rows = [
        req(9, region="us-east"),
        req(10.5, outcome="failed", e2e=0.2),              # client sees the failure at 10.7
        req(10.6, region="us-east", e2e=0.5),              # same region: not a failover
        req(11.0, region="eu-west", e2e=1.0),              # answered at 12.0
        req(11.5, region="eu-west", e2e=0.1),              # answered at 11.6: the first one
    ]
    (result,) = failover_time(frame(rows), timeline(faults=[REGION, KILL]))
    assert result.status == "failed_over"
    assert result.first_failure_at == pytest.approx(T0 + 10.7)
    assert result.value == pytest.approx(0.9, abs=1e-6)


def test_failover_never_and_seamless_and_no_data():
    never = [req(10.5, outcome="failed", e2e=0.2), req(11, region="us-east")]
    (result,) = failover_time(frame(never), timeline(faults=[REGION]))
    assert result.status == "never" and result.value == math.inf
    seamless = [req(10.5, region="eu-west")]
    (result,) = failover_time(frame(seamless), timeline(faults=[REGION]))
    assert result.status == "seamless" and result.value == 0.0
    (result,) = failover_time(frame([req(10.5)]), timeline(faults=[REGION]))
    assert result.status == "no_data" and result.value is None
    assert failover_time(frame(never), timeline(faults=[KILL])) == []


def test_failback_from_the_region_return_to_its_first_served_request():
    rows = [
        req(10.5, outcome="failed", e2e=0.2),
        req(11.0, region="eu-west", e2e=0.1),
        req(20.5, region="eu-west", e2e=0.1),               # after the region is back, still served elsewhere
        req(21.0, region="us-east", e2e=0.5),               # home again, answered at 21.5
    ]
    (result,) = failover_time(frame(rows), timeline(faults=[REGION]))
    assert result.served_home_at == pytest.approx(T0 + 21.5)
    assert result.failback == pytest.approx(1.5, abs=1e-6)
    (never_home,) = failover_time(frame(rows[:3]), timeline(faults=[REGION]))
    assert never_home.failback == math.inf and never_home.served_home_at is None
    still_down = FaultWindow("east-down", "sandbox-region-down", injected_at=T0 + 10, region="us-east")
    (not_rolled_back,) = failover_time(frame(rows), timeline(faults=[still_down]))
    assert not_rolled_back.failback is None
