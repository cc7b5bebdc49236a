"""Window token rates count the tokens that arrived inside the window, by chunk arrival time (closed and open loop)."""

from __future__ import annotations

import pytest

from brownout.reports.metrics import output_tokens_per_s, token_goodput
from brownout.reports.metrics.throughput import TokenArrivals
from brownout.reports.scoring import bucket_series, window_metrics
from brownout.reports.window import Window
from brownout.spec.objectives import GoodputCriteria, Scoring
from tests.reports.builders import T0, frame, probes, req, timeline


def _rows(sched: bool) -> list[dict]:
    """Hand-placed streams around the window [T0, T0 + 10):

    a: sent T0-1, first token T0-0.5, gaps 1 s: chunks at -0.5, 0.5 (2 tokens each) -> 2 in the window
    b: sent T0+8, first token T0+9, gaps 0.5 s: chunks at 9, 9.5, 10, 10.5 (8 tokens, 2 each) -> 4 inside
    c: sent T0+3, nothing streamed (t_first None), 5 tokens at t_end T0+4 -> 5 inside
    d: failed at T0+5 after 3 tokens -> never counted
    """
    a = req(-1, ttft=0.5, itl=[1.0], tokens=4, sched=sched)
    b = req(8, ttft=1.0, itl=[0.5, 0.5, 0.5], tokens=8, sched=sched, e2e=3.0)
    c = {**req(3, ttft=None, tokens=5, sched=sched), "t_end": T0 + 4}
    d = {**req(5, outcome="failed", sched=sched), "output_tokens": 3, "t_first": T0 + 5.1}
    return [a, b, c, d]


@pytest.mark.parametrize("sched", [False, True], ids=["closed loop", "open loop"])
def test_only_tokens_that_arrived_inside_the_window_count(sched):
    df = frame(_rows(sched))
    window = Window("w", T0, T0 + 10)
    assert output_tokens_per_s(df, window) == pytest.approx((2 + 4 + 5) / 10)
    after = Window("after", T0 + 10, T0 + 20)  # b's last two chunks; no request is anchored there: no data
    assert output_tokens_per_s(df, after) is None
    assert TokenArrivals(df[df.outcome == "ok"]).between(after.start, after.end) == pytest.approx(4.0)
    # goodput under a 0.9 s TTFT limit: a (0.5 s) only (b took 1.0 s, c has no TTFT) -> its 2 tokens inside
    assert token_goodput(df, window, GoodputCriteria(ttft=0.9)) == pytest.approx(2 / 10)


def test_phase_and_bucket_token_rates_agree_by_arrival():
    rows = _rows(sched=True)
    df = frame(rows)
    scoring = Scoring(bucket=5.0)
    phases = timeline(baseline=10, fault=10, recovery=10)
    series = bucket_series(df, phases, scoring)
    # buckets [0,5): a's 2nd chunk + c -> 7 tokens; [5,10): b's first two chunks -> 4; [10,15): b's last two -> 4,
    # but no request is anchored in [10,15): no data
    assert [b.output_tokens_per_s for b in series[:3]] == [pytest.approx(7 / 5), pytest.approx(4 / 5), None]
    full = window_metrics(df, probes([]), Window("baseline", T0, T0 + 10), scoring, [])
    assert full.output_tokens_per_s == pytest.approx(11 / 10)
