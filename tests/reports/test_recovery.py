"""time_to_recover and failover_time on constructed runs.

Recovery cases are quickstart-like: baseline 0-12 s, fault 12-32 s with the kill injected at 14 s and
rolled back at 24 s, recovery 32-47 s; default scoring (buckets of 2 s, so from the rollback 24-26 ...
44-46 and a partial 46-47; a hold of 3 buckets; at least 5 requests to judge a bucket).
"""

from __future__ import annotations

import math

import pytest

from brownout.spec.objectives import Scoring
from brownout.rundata.timeline import FaultWindow
from brownout.reports.metrics import failover_time, time_to_recover
from tests.reports.builders import T0, frame, req, timeline

KILL = FaultWindow("kill", "sandbox-replica-kill", injected_at=T0 + 14, rolled_back_at=T0 + 24)
QUICKSTART = timeline(baseline=12, fault=20, recovery=15, faults=[KILL])
DEFAULT = Scoring()


def rows(after, *, rate: int = 4, until: float = 47, before=req):
    """`rate` requests a second: `before(t)` (ok, TTFT 100 ms) to the kill, failed until the rollback, `after(t)` on."""
    times = [i / rate for i in range(int(until * rate))]
    return [before(t) if t < 14 else req(t, outcome="failed") if t < 24 else after(t) for t in times]


def recover(records, scoring=DEFAULT, *, streaming=True):
    return time_to_recover(frame(records), QUICKSTART, scoring, scoring.watch_for(streaming))


def failing_until(at, **ok):
    return lambda t: req(t, outcome="failed") if t < at else req(t, **ok)


def test_recovered_at_the_start_of_the_first_stretch_that_holds():
    # 24-32 failing (4 buckets); 32-34, 34-36, 36-38 within: the hold is met, recovered at 32
    result = recover(rows(failing_until(32)))
    assert result.status == "recovered"
    assert result.since == T0 + 24 and result.recovered_at == T0 + 32 and result.value == pytest.approx(8.0)
    assert result.watch == ["success_rate", "degraded_rate", "ttft_p95"] and result.hold == 6.0
    assert result.baseline["success_rate"] == 1.0 and result.baseline["degraded_rate"] == 0.0
    assert result.baseline["ttft_p95"] == pytest.approx(0.1, abs=1e-6)
    assert "ttft_p95: 20% or 50 ms of baseline" in result.tolerance
    assert "degraded_rate: 5 pp of baseline" in result.tolerance
    # a watched latency without a sample (every request failed) is not within tolerance
    ttft_only = Scoring(recovery_watch=["ttft_p95"])
    assert recover(rows(failing_until(32)), ttft_only).value == pytest.approx(8.0)


def test_one_noisy_bucket_after_the_hold_changes_nothing():
    # the same series with one bucket at 400 ms TTFT (p95 0.4 > 0.1 + 50 ms) after the hold was met:
    # the old "stays within until the end" rule gave 18 s (mid) and never (last full bucket)
    clean = recover(rows(failing_until(32)))
    noisy_mid = recover(rows(lambda t: req(t, outcome="failed") if t < 32 else req(t, ttft=0.4 if 40 <= t < 42 else 0.1)))
    noisy_last = recover(rows(lambda t: req(t, outcome="failed") if t < 32 else req(t, ttft=0.4 if 44 <= t < 46 else 0.1)))
    assert clean.value == noisy_mid.value == noisy_last.value == pytest.approx(8.0)
    assert noisy_last.status == "recovered"
    # inside the hold it restarts it: 32-34 within, 34-36 noisy, 36-42 within -> recovered at 36
    relapse = recover(rows(lambda t: req(t, outcome="failed") if t < 32 else req(t, ttft=0.4 if 34 <= t < 36 else 0.1)))
    assert relapse.recovered_at == T0 + 36 and relapse.value == pytest.approx(12.0)


def test_absolute_part_of_the_tolerance_covers_small_latency_baselines():
    # 10% of a 60 ms baseline is 6 ms; 70 ms is 10 ms worse but within the 50 ms absolute part
    scoring = Scoring(recovery_tolerance=0.1)
    result = recover(rows(lambda t: req(t, ttft=0.07), before=lambda t: req(t, ttft=0.06)), scoring)
    assert result.status == "recovered" and result.value == 0.0
    # 120 ms is 60 ms worse: outside both parts, in every one of the 11 judged buckets
    slow = recover(rows(lambda t: req(t, ttft=0.12), before=lambda t: req(t, ttft=0.06)), scoring)
    assert slow.status == "never" and slow.value == math.inf and "ttft_p95" in slow.reason


def test_a_service_still_answering_from_its_fallback_has_not_recovered():
    # 5 requests a second, 4 in 5 served by the fallback model: success 100%, degraded 80% (baseline 0%)
    fallback = lambda t: req(t, outcome="degraded", model="fallback") if round(t * 5) % 5 else req(t)  # noqa: E731
    result = recover(rows(fallback, rate=5))
    assert result.status == "never" and result.value == math.inf
    assert result.reason.startswith("degraded_rate outside tolerance")
    # watching only what the old default watched, it looked recovered at once
    assert recover(rows(fallback, rate=5), Scoring(recovery_watch=["success_rate", "ttft_p95"])).value == 0.0
    # back on the primary model from 36 s: recovered there
    back = recover(rows(lambda t: fallback(t) if t < 36 else req(t), rate=5))
    assert back.status == "recovered" and back.value == pytest.approx(12.0)


def test_sparse_buckets_are_skipped():
    after = (
        [req(24.5)]                                                            # 24-26: one lone success, not judged
        + [req(26 + i / 4, outcome="failed") for i in range(8)]                # 26-28: judged, outside
        + [req(28 + i / 4) for i in range(8)]                                  # 28-30: judged, within
        + [req(30 + i, outcome="failed") for i in range(2)]                    # 30-32: 2 failures ...
        + [req(30.1 + i / 4, outcome="abandoned") for i in range(6)]           # ... and 6 abandoned: not judged
        + [req(32 + i / 4) for i in range(15 * 4)]                             # 32-47 within
    )
    result = recover(rows(None, until=24) + after)
    # stretch 28-30, (skip), 32-34, 34-36: recovered at 28 (the old rule said 32, after the sparse bucket)
    assert result.status == "recovered" and result.recovered_at == T0 + 28 and result.value == pytest.approx(4.0)


def test_nothing_judgeable_is_inconclusive_not_infinite():
    # one failing request a second after the rollback: 2 per bucket, none judged (the old rule said never)
    sparse = rows(None, until=24) + [req(24 + i, outcome="failed") for i in range(23)]
    result = recover(sparse)
    assert result.status == "inconclusive" and result.value is None
    assert "5 requests" in result.reason
    # a user-named TTFT watch on a non-streaming load has no baseline: inconclusive, naming it
    no_ttft = rows(lambda t: req(t, ttft=None), before=lambda t: req(t, ttft=None))
    named = recover(no_ttft, Scoring(recovery_watch=["success_rate", "ttft_p95"]), streaming=False)
    assert named.status == "inconclusive" and named.reason == "no baseline data for ttft_p95"
    # the default non-streaming watch judges e2e instead
    default = recover(no_ttft, streaming=False)
    assert default.watch == ["success_rate", "degraded_rate", "e2e_p95"] and default.status == "recovered"


def test_a_within_tolerance_tail_shorter_than_the_hold_is_inconclusive():
    # 10 requests a second, fine from 42 s: 42-44 and 44-46 within, the partial 46-47 (10 requests) not judged
    result = recover(rows(failing_until(42), rate=10))
    assert result.status == "inconclusive" and result.value is None and result.recovered_at is None
    assert "2 judged bucket(s)" in result.reason and "hold of 3" in result.reason
    # still failing in the last judged bucket is never, whatever the partial bucket holds
    late = recover(rows(lambda t: req(t, outcome="failed") if t < 46 else req(t), rate=10))
    assert late.status == "never"


def test_without_rollback_recovery_is_measured_from_the_fault_phase_end():
    unrolled = FaultWindow("kill", "sandbox-replica-kill", injected_at=T0 + 14)
    tl = timeline(baseline=12, fault=20, recovery=15, faults=[unrolled])
    result = time_to_recover(frame(rows(failing_until(36))), tl, DEFAULT, DEFAULT.watch_for(True))
    assert result.since == T0 + 32 and result.value == pytest.approx(4.0)  # buckets 32-34, 34-36 bad; 36- good


REGION = FaultWindow("east-down", "sandbox-region-down", injected_at=T0 + 10, rolled_back_at=T0 + 20, region="us-east")
PLAIN_KILL = FaultWindow("kill", "sandbox-replica-kill", injected_at=T0 + 10, rolled_back_at=T0 + 18)


def test_failover_time_from_first_failure_to_first_answer_from_another_region():
    rows = [
        req(9, region="us-east"),
        req(10.2, outcome="abandoned", served_by="east-1", region="us-east"),  # the harness gave up: no failure
        req(10.5, outcome="failed", e2e=0.2),              # client sees the failure at 10.7
        req(10.6, region="us-east", e2e=0.5),              # same region: not a failover
        req(11.0, region="eu-west", e2e=1.0),              # answered at 12.0
        req(11.5, region="eu-west", e2e=0.1),              # answered at 11.6: the first one
    ]
    (result,) = failover_time(frame(rows), timeline(faults=[REGION, PLAIN_KILL]))
    assert result.status == "failed_over"
    assert result.first_failure_at == pytest.approx(T0 + 10.7)
    assert result.value == pytest.approx(0.9, abs=1e-6)


def test_failover_never_and_seamless_and_inconclusive():
    never = [req(10.5, outcome="failed", e2e=0.2), req(11, region="us-east")]
    (result,) = failover_time(frame(never), timeline(faults=[REGION]))
    assert result.status == "never" and result.value == math.inf
    seamless = [req(10.5, region="eu-west")]
    (result,) = failover_time(frame(seamless), timeline(faults=[REGION]))
    assert result.status == "seamless" and result.value == 0.0
    (result,) = failover_time(frame([req(9, region="us-east"), req(10.5)]), timeline(faults=[REGION]))
    assert result.status == "inconclusive" and result.value is None
    assert failover_time(frame(never), timeline(faults=[PLAIN_KILL])) == []


def test_failover_without_a_way_to_know_who_served_is_inconclusive():
    # failures after the region went down, answers afterwards, but no record says who served (the old rule: never)
    rows = [req(9), req(10.5, outcome="failed", e2e=0.2), req(11, e2e=0.1), req(21)]
    (result,) = failover_time(frame(rows), timeline(faults=[REGION]))
    assert result.status == "inconclusive" and result.value is None and result.failback is None
    assert result.reason == ("no way to know who served each request: "
                             "set outcome.served_by (a response header or JSON field)")


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


def test_a_success_rate_still_a_tenth_short_of_baseline_has_not_recovered():
    """Rates are judged in points: a relative 20% of a 100% baseline would have called 85% recovered."""
    one_in_eight_fails = lambda t: req(t, outcome="failed") if (t * 4) % 8 == 0 else req(t)  # noqa: E731
    result = recover(rows(one_in_eight_fails))
    assert result.status == "never" and math.isinf(result.value), result
    assert recover(rows(one_in_eight_fails), Scoring(recovery_tolerance_rate=0.15)).status == "recovered"
