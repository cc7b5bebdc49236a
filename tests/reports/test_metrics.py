"""Window metrics on constructed frames, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from brownout.spec.objectives import RECOVERY_WATCH_METRICS, GoodputCriteria, Scoring
from brownout.reports.metrics import (
    count_outcomes,
    degraded_rate,
    error_budget_burn,
    error_rate,
    goodput,
    latency_samples,
    latency_stats,
    output_tokens_per_s,
    percentile,
    requests_per_s,
    success_rate,
    throttle_rate,
    token_goodput,
)
from brownout.reports.metrics.accuracy import AnswerTable
from brownout.reports.metrics.outcomes import judged
from brownout.reports.metrics.recovery import watched_value
from brownout.rundata.probes import ProbeResult
from brownout.reports.metrics.table import RequestTable
from brownout.reports.scoring import bucket_series, window_metrics
from brownout.reports.window import Window, bucket_windows, in_window
from tests.reports.builders import T0, frame, probes, req, timeline

approx = lambda v: pytest.approx(v, abs=1e-6)  # noqa: E731  (marks sit near 1.7e9 s: ~2e-7 s resolution)


def stats(rows, metric, adjusted=False):
    return latency_stats(latency_samples(frame(rows), metric, adjusted=adjusted))


def test_outcome_rates_count_throttled_apart_from_errors():
    rows = [req(i) for i in range(6)] + [
        req(6, outcome="degraded"),
        req(7, outcome="failed", error_class="http_5xx", status=503),
        req(8, outcome="failed", error_class="timeout"),
        req(9, outcome="failed", error_class="throttled", status=429),
    ]
    counts = count_outcomes(frame(rows))
    assert (counts.requests, counts.ok, counts.degraded, counts.errors, counts.throttled) == (10, 6, 1, 2, 1)
    assert success_rate(counts) == pytest.approx(0.7)
    assert degraded_rate(counts) == pytest.approx(0.1)
    assert error_rate(counts) == pytest.approx(0.2)
    assert throttle_rate(counts) == pytest.approx(0.1)
    # 2 errors / (1% of 10 requests) = 20 budgets; the 429 burns nothing
    assert error_budget_burn(counts, 0.01) == pytest.approx(20.0)


def test_status_429_without_error_class_is_throttled():
    counts = count_outcomes(frame([req(0, outcome="failed", error_class="client_error", status=429), req(1)]))
    assert (counts.errors, counts.throttled) == (0, 1)


def test_empty_window_is_no_data_not_zero():
    empty = frame([])
    counts = count_outcomes(empty)
    for fn in (success_rate, degraded_rate, error_rate, throttle_rate):
        assert fn(counts) is None
    assert error_budget_burn(counts, 0.01) is None
    assert requests_per_s(empty, 10) is None
    assert output_tokens_per_s(empty, Window("w", T0, T0 + 10)) is None
    assert goodput(empty, 10, GoodputCriteria()) is None
    assert all(v is None for v in stats([], "ttft").values())


def test_plain_and_adjusted_percentiles_nearest_rank():
    rows = [req(i, ttft=t) for i, t in enumerate((0.5, 0.1, 0.4, 0.2, 0.3))] + [req(5, outcome="failed")]
    plain = stats(rows, "ttft")
    # sorted .1 .2 .3 .4 .5: p50 rank ceil(2.5)=3 -> .3; p90 rank ceil(4.5)=5 -> .5
    assert plain["p50"] == approx(0.3) and plain["p90"] == approx(0.5) and plain["p99"] == approx(0.5)
    assert plain["mean"] == approx(0.3) and plain["max"] == approx(0.5)
    adjusted = stats(rows, "ttft", adjusted=True)
    # six samples with one inf: p50 rank 3 -> .3; p90 rank ceil(5.4)=6 -> inf
    assert adjusted["p50"] == approx(0.3)
    assert adjusted["p90"] == math.inf and adjusted["mean"] == math.inf and adjusted["max"] == math.inf


def test_all_failed_plain_is_no_data_adjusted_is_infinite():
    rows = [req(i, outcome="failed") for i in range(4)]
    assert all(v is None for v in stats(rows, "e2e").values())
    assert all(v == math.inf for v in stats(rows, "e2e", adjusted=True).values())
    assert success_rate(count_outcomes(frame(rows))) == 0.0
    assert goodput(frame(rows), 10, GoodputCriteria()) == 0.0


def test_tpot_undefined_for_one_token_outputs():
    rows = [req(0, tokens=1, tpot_span=0.0), req(1, tokens=5, tpot_span=0.4)]
    sample = latency_samples(frame(rows), "tpot", adjusted=False)
    assert sample.size == 1 and sample[0] == approx(0.1)  # 0.4 s / (5 - 1)
    only_one_token = latency_samples(frame([req(0, tokens=1)]), "tpot", adjusted=False)
    assert only_one_token.size == 0 and percentile(only_one_token, 50) is None


def test_itl_pooled_over_chunks_of_successful_requests():
    rows = [req(0, itl=[0.1, 0.3]), req(1, itl=[0.2]), req(2, outcome="failed", itl=[9.0])]
    plain = stats(rows, "itl")
    assert plain["p50"] == approx(0.2) and plain["mean"] == approx(0.2) and plain["max"] == approx(0.3)
    adjusted = stats(rows, "itl", adjusted=True)  # .1 .2 .3 inf: p50 rank 2, p90 rank 4
    assert adjusted["p50"] == approx(0.2) and adjusted["p90"] == math.inf


def test_schedule_lag_and_ttft_from_schedule():
    rows = [req(0, lag=0.25, ttft=0.1), req(1, lag=0.75, ttft=0.1)]
    assert stats(rows, "schedule_lag")["max"] == approx(0.75)
    assert stats(rows, "ttft_from_schedule")["mean"] == approx(0.6)  # (0.35 + 0.85) / 2
    assert stats(rows, "ttft")["mean"] == approx(0.1)


def test_goodput_counts_ok_requests_meeting_every_limit():
    criteria = GoodputCriteria(ttft=0.5, tpot=0.05)
    rows = [
        req(0, ttft=0.1, tokens=10, tpot_span=0.27),   # tpot .03: good
        req(1, ttft=0.6, tokens=10, tpot_span=0.27),   # ttft over: not good
        req(2, ttft=0.1, tokens=1),                    # no tpot: good
        req(3, ttft=0.1, tokens=11, tpot_span=1.0),    # tpot .1: not good
        req(4, outcome="degraded", ttft=0.1, tokens=10),  # degraded: never good
        req(5, outcome="failed"),
    ]
    df = frame(rows)
    assert goodput(df, 10.0, criteria) == pytest.approx(0.2)        # 2 requests / 10 s
    ten = Window("w", T0, T0 + 10)
    assert token_goodput(df, ten, criteria) == pytest.approx(1.1)  # (10 + 1) tokens / 10 s
    assert requests_per_s(df, 10.0) == pytest.approx(0.5)           # 5 answered / 10 s
    assert output_tokens_per_s(df, ten) == pytest.approx(4.2)      # (10+10+1+11+10) / 10 s


def test_phase_membership_by_schedule_then_send_and_dropped_included():
    baseline = Window("baseline", T0, T0 + 10)
    rows = [
        req(9.9, lag=0.5),                                      # scheduled in baseline, sent in fault
        req(9.8, sched=False, lag=0.5),                         # closed loop: placed by t_send (10.3)
        req(5, outcome="failed", error_class="dropped", sent=False),  # never sent: placed by t_sched
        req(10.0),                                              # half-open window: belongs to the next one
    ]
    picked = in_window(frame(rows), baseline)
    assert sorted(picked["request_id"]) == ["r5", "r9.9"]
    assert count_outcomes(judged(picked)).errors == 0 and len(judged(picked)) == 1  # a dropped arrival is the harness's


def test_bucket_windows_cut_or_full():
    assert [(w.start, w.end) for w in bucket_windows(0, 5, 2)] == [(0, 2), (2, 4), (4, 5)]
    assert [(w.start, w.end) for w in bucket_windows(0, 5, 2, full_only=True)] == [(0, 2), (2, 4)]
    assert bucket_windows(3, 3, 2) == []


def test_bucket_series_agrees_with_window_metrics():
    """The per-bucket fast path must give what the per-phase path gives over the same window."""
    scoring = Scoring(bucket=5.0, goodput=GoodputCriteria(ttft=0.3))
    rows = [req(t / 3, ttft=(t % 7) / 10, tokens=t % 4 + 1,
                outcome=("ok", "degraded", "failed", "ok", "ok")[t % 5],
                error_class="throttled" if t % 10 == 2 else None) for t in range(90)]
    rows.append(req(3, outcome="failed", error_class="dropped", sent=False))
    df = frame(rows)
    series = bucket_series(df, timeline(), scoring)
    assert len(series) == 6 and sum(b.requests for b in series) == 90  # the dropped arrival is not judged
    for bucket in series:
        full = window_metrics(df, probes([]), Window("b", bucket.start, bucket.end), scoring, [])
        assert bucket.requests == full.requests
        for name in ("success_rate", "degraded_rate", "error_rate", "throttle_rate", "requests_per_s",
                     "output_tokens_per_s", "goodput"):
            assert getattr(bucket, name) == pytest.approx(getattr(full, name)), name
        assert bucket.ttft_p95 == full.latency["ttft"].p95
        assert bucket.ttft_p95_adjusted == full.latency_adjusted["ttft"].p95


def test_abandoned_requests_change_no_rate_and_are_counted():
    # 7 ok, 1 degraded, 1 error, 1 throttled, and 3 the harness gave up on mid-stream
    judged = [req(i, ttft=0.1 * (i + 1)) for i in range(7)] + [
        req(7, outcome="degraded"),
        req(8, outcome="failed", error_class="http_5xx", status=503),
        req(9, outcome="failed", error_class="throttled", status=429),
    ]
    abandoned = [req(10 + i, outcome="abandoned", ttft=0.05, itl=[0.01]) for i in range(3)]
    window, scoring = Window("w", T0, T0 + 20), Scoring(bucket=10.0)
    with_abandoned = window_metrics(frame(judged + abandoned), probes([]), window, scoring, [])
    assert (with_abandoned.requests, with_abandoned.abandoned) == (10, 3)
    assert with_abandoned.success_rate == pytest.approx(0.8) and with_abandoned.error_rate == pytest.approx(0.1)
    assert with_abandoned.throttle_rate == pytest.approx(0.1) and with_abandoned.degraded_rate == pytest.approx(0.1)
    assert with_abandoned.error_budget_burn == pytest.approx(10.0)  # 1 error / (1% of 10)
    assert with_abandoned.requests_per_s == pytest.approx(0.4)      # 8 answered / 20 s
    assert with_abandoned.latency_adjusted["ttft"].n == 10          # 8 answered + 2 failed, no abandoned inf
    assert with_abandoned.latency["itl"].n == 0
    without = window_metrics(frame(judged), probes([]), window, scoring, [])
    assert with_abandoned.model_copy(update={"abandoned": 0}) == without
    series = bucket_series(frame(judged + abandoned), timeline(baseline=10, fault=10, recovery=0), scoring)
    assert [(b.requests, b.abandoned) for b in series] == [(10, 0), (0, 3)]
    assert series[1].success_rate is None  # only abandoned requests: no data, not 0%


def test_bucket_series_emits_no_partial_bucket():
    # a 31 s run in 2 s buckets: 15 full ones, the requests of 30-31 s in none
    rows = [req(t / 2, outcome="failed" if t >= 60 else "ok") for t in range(62)]
    series = bucket_series(frame(rows), timeline(recovery=11), Scoring(bucket=2.0))
    assert len(series) == 15 and series[-1].end == T0 + 30
    assert sum(b.requests for b in series) == 60 and all(b.success_rate == 1.0 for b in series)


def test_every_recovery_watch_metric_per_bucket_matches_the_phase_metrics():
    """The table behind recovery gives each watchable metric as the phase path computes it."""
    rows = [req(t / 4, ttft=(t % 5) / 10, lag=(t % 3) / 100, tokens=t % 6 + 1, tpot_span=(t % 4) / 10,
                itl=[0.01 * (t % 7 + 1)] * (t % 3), e2e=0.5 + (t % 4) / 10,
                outcome=("ok", "degraded", "failed", "ok", "abandoned", "ok")[t % 6]) for t in range(80)]
    for t, row in enumerate(rows):
        row["correct"] = None if row["outcome"] in ("failed", "abandoned") else t % 5 != 0
    golden = probes([ProbeResult("g", "golden", T0 + t, t % 3 != 0, 0.1, "ok", item=f"i{t}", correct=t % 3 != 0)
                     for t in range(2, 15)])
    df, window = frame(rows), Window("w", T0 + 3, T0 + 13)
    full = window_metrics(df, golden, window, Scoring(), [])
    table = RequestTable.build(df, Scoring().goodput)
    answers = AnswerTable.build(golden, df)
    for name in sorted(RECOVERY_WATCH_METRICS):
        metric, _, stat = name.rpartition("_")
        expected = getattr(full.latency[metric], stat) if metric in full.latency else getattr(full, name)
        assert expected is not None, name
        assert watched_value(table, window, name, answers) == pytest.approx(expected), name
    assert full.golden_answers == 10 and full.checked_requests > 0
