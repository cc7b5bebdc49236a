"""Thresholds mean one thing: a duration spells its unit, a share above 1 spells `%`, nothing is negative.

Each refusal is a located SpecError (file, line, field), as every validation error is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.errors import SpecErrors
from brownout.experiments.loading import load_experiment_text
from brownout.spec.objectives import SLO
from tests.experiments.test_loading import MINIMAL

SLO_LINE = "slos:\n  - {name: obj, metric: METRIC, STAT op: 'OP', threshold: THRESHOLD}\n"


def _text(metric: str, threshold: str, op: str = "<=", stat: str = "") -> str:
    return MINIMAL + SLO_LINE.replace("METRIC", metric).replace("THRESHOLD", threshold).replace("OP", op).replace(
        "STAT ", f"stat: {stat}, " if stat else "")


def _errors(text: str) -> list:
    with pytest.raises(SpecErrors) as info:
        load_experiment_text(text, Path("exp.yaml"), env={})
    return info.value.errors


def _line(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if "name: obj" in line)


@pytest.mark.parametrize(("metric", "stat", "threshold", "message"), [
    ("ttft", "p95", "2", "threshold 2 of 'ttft' needs a unit: write '2s' or '2000ms'"),
    ("e2e", "p99", "1.5", "threshold 1.5 of 'e2e' needs a unit: write '1.5s' or '1500ms'"),
    ("time_to_recover", "", "30", "threshold 30 of 'time_to_recover' needs a unit"),
    ("failover_time", "", "5", "needs a unit"),
    ("success_rate", "", "95", "threshold 95 of 'success_rate' is beyond 100%: a share is 0..1; write '95%'"),
    ("error_rate", "", "5", "write '5%' for 5 percent"),
    ("ttft", "p95", "-2s", "is not a duration"),
    ("goodput", "", "-1", "out of range"),
])
def test_a_threshold_that_could_mean_two_things_is_a_located_error(metric, stat, threshold, message):
    text = _text(metric, threshold, ">=" if metric in ("success_rate", "goodput") else "<=", stat)
    errors = _errors(text)
    assert any(message in e.message and e.line == _line(text) and e.file == "exp.yaml" for e in errors), errors
    assert all("slos" in (e.field or "") for e in errors), errors


@pytest.mark.parametrize(("metric", "stat", "threshold", "value"), [
    ("ttft", "p95", "2s", 2.0), ("ttft", "p95", "1500ms", 1.5), ("ttft", "p95", "0", 0.0),
    ("success_rate", "", "95%", 0.95), ("success_rate", "", "0.95", 0.95), ("requests_per_s", "", "12", 12.0),
    ("error_budget_burn", "", "3", 3.0),
])
def test_unambiguous_thresholds_load(metric, stat, threshold, value):
    loaded = load_experiment_text(_text(metric, threshold, ">=" if metric != "ttft" else "<=", stat), Path("exp.yaml"), env={})
    assert loaded.spec.slos[0].threshold == value


def test_python_callers_give_seconds():
    assert SLO(name="x", metric="ttft", stat="p95", op="<=", threshold=2).threshold == 2.0
