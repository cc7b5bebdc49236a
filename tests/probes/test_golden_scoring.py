"""Accuracy in scoring: SLOs (pooled and per golden probe), the error budget, buckets and the recovery watch."""

from __future__ import annotations

import pytest

from brownout.reports.metrics import time_to_recover
from brownout.reports.metrics.accuracy import AnswerCounts, accuracy, accuracy_budget_burn, count_answers
from brownout.reports.scoring import bucket_series, definitions, objective_value, window_metrics
from brownout.reports.window import Window
from brownout.rundata.probes import ProbeResult
from brownout.rundata.timeline import FaultWindow
from brownout.spec.objectives import SLO, Scoring
from tests.reports.builders import T0, frame, probes, req, timeline

BAD = FaultWindow("bad", "sandbox.bad-rollout", injected_at=T0 + 12, rolled_back_at=T0 + 20)
RUN = timeline(baseline=12, fault=12, recovery=16, faults=[BAD])


def golden(t: float, correct: bool | None, probe: str = "g") -> ProbeResult:
    return ProbeResult(probe, "golden", T0 + t, bool(correct), 0.1 if correct is not None else None,
                       "ok" if correct else "wrong answer", item=f"i{int(t)}", correct=correct)


def test_accuracy_pools_golden_runs_and_checked_requests_and_leaves_out_the_unanswered():
    runs = probes([golden(1, True), golden(2, False), golden(3, None), golden(4, True, probe="other")])
    records = frame([{**req(t), "correct": c} for t, c in ((1, True), (2, True), (3, None), (4, False))])
    counts = count_answers(runs, records)
    assert counts == AnswerCounts(golden=3, golden_correct=2, load=3, load_correct=2)
    assert accuracy(counts) == pytest.approx(4 / 6)
    assert accuracy_budget_burn(counts, 0.05) == pytest.approx(2 / (0.05 * 6))
    assert accuracy(AnswerCounts()) is None and accuracy_budget_burn(AnswerCounts(), 0.05) is None
    metrics = window_metrics(records, runs, Window("w", T0, T0 + 10), Scoring(), ["g", "other"])
    assert (metrics.golden_answers, metrics.checked_requests, metrics.wrong_answers) == (3, 3, 2)
    assert metrics.accuracy_by_probe == {"g": 0.5, "other": 1.0}
    pooled = SLO(name="a", metric="accuracy", op=">=", threshold="95%")
    one = SLO(name="b", metric="accuracy", probe="other", op=">=", threshold="95%")
    no_run = {"recovery": None, "failovers": []}
    assert objective_value(pooled, metrics, **no_run) == pytest.approx(4 / 6)
    assert objective_value(one, metrics, **no_run) == 1.0
    assert "correct answers / judged answers" in definitions()["accuracy"]


def _answers(wrong_until: float) -> list[ProbeResult]:
    """A golden answer every 0.5 s for 40 s, wrong from the injection until `wrong_until`."""
    return [golden(i / 2, not 12 <= i / 2 < wrong_until) for i in range(80)]


def test_recovery_watch_on_accuracy_waits_for_right_answers():
    scoring = Scoring(recovery_watch=["success_rate", "accuracy"])
    records = frame([req(i / 4) for i in range(160)])   # availability never moved
    recovered = time_to_recover(records, RUN, scoring, scoring.watch_for(True), probes(_answers(wrong_until=26)))
    assert (recovered.status, recovered.value) == ("recovered", pytest.approx(6.0))
    stuck = time_to_recover(records, RUN, scoring, scoring.watch_for(True), probes(_answers(wrong_until=99)))
    assert stuck.status == "never"
    # no golden answers at all: accuracy cannot be judged, so recovery cannot either
    unjudged = time_to_recover(records, RUN, scoring, scoring.watch_for(True), probes([]))
    assert unjudged.status == "inconclusive"


def test_buckets_carry_accuracy():
    series = bucket_series(frame([req(i / 4) for i in range(160)]), RUN, Scoring(), probes(_answers(wrong_until=20)))
    by_start = {round(b.start - T0): b.accuracy for b in series}
    assert by_start[10] == 1.0 and by_start[14] == 0.0 and by_start[20] == 1.0
