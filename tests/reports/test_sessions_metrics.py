"""Session and workflow metrics on hand-built records: fates, survival by start phase, TTFT by turn, SLOs."""

from __future__ import annotations

import pytest

from brownout.reports.metrics.sessions import session_fates, session_survival_rate, sessions_summary, ttft_by_turn
from brownout.reports.metrics.workflows import workflow_fates, workflow_success_rate, workflows_summary
from brownout.reports.html import render_html
from brownout.reports.markdown import render_markdown
from brownout.reports.results import build_results
from brownout.reports.window import phase_windows
from tests.reports.builders import frame, req, spec, timeline


def turn(t: float, session: str, number: int, turns: int = 3, **kw) -> dict:
    return {**req(t, **kw), "request_id": f"{session}.{number}", "session": session, "turn": number, "turns": turns}


def step(t: float, workflow: str, number: int, calls: int, max_steps: int = 3, **kw) -> dict:
    return {**req(t, **kw), "request_id": f"{workflow}.{number}", "workflow": workflow, "step": number,
            "tool_calls": calls, "max_steps": max_steps}


SESSIONS = [
    # survived: started in baseline, its last turn in the fault phase
    turn(8, "a", 1, ttft=0.1), turn(9, "a", 2, ttft=0.2), turn(11, "a", 3, ttft=0.3),
    # broken at turn 2 by a 502 from us-east, started in baseline
    turn(9.5, "b", 1), turn(10.5, "b", 2, outcome="failed", error_class="http_5xx", region="us-east"),
    # started in the fault phase: survived, and one broken at turn 1
    turn(12, "c", 1), turn(13, "c", 2), turn(14, "c", 3),
    turn(12.5, "d", 1, outcome="failed", error_class="connect_refused"),
    # unfinished: its last turn abandoned, and one the run ended after two turns
    turn(15, "e", 1), turn(16, "e", 2, outcome="abandoned"),
    turn(17, "f", 1), turn(18, "f", 2),
]


def test_session_fates_and_survival_by_the_phase_each_started_in():
    records = frame(SESSIONS)
    fates = session_fates(records).set_index("session")
    assert fates["fate"].to_dict() == {"a": "survived", "b": "broken", "c": "survived", "d": "broken",
                                       "e": "unfinished", "f": "unfinished"}
    assert (fates.loc["b", "broken_turn"], fates.loc["b", "error_class"], fates.loc["b", "region"]) == (2, "http_5xx", "us-east")
    results = build_results(spec(), {}, records, None, timeline(), environment={
        "brownout": "t", "python": "3", "platform": "p", "host": "h", "workers": 1})
    baseline, fault = results.phases["baseline"], results.phases["fault"]
    assert (baseline.sessions, baseline.sessions_broken, baseline.session_survival_rate) == (2, 1, 0.5)
    assert (fault.sessions, fault.sessions_broken, fault.sessions_unfinished) == (2, 1, 2)
    assert fault.session_survival_rate == 0.5
    assert results.phases["recovery"].session_survival_rate is None  # no session started there: no data, never 0
    summary = results.sessions
    assert (summary.sessions, summary.survived, summary.broken, summary.unfinished) == (6, 2, 2, 2)
    assert {(g.phase, g.turn, g.error_class, g.sessions) for g in summary.broken_by} == {
        ("baseline", 2, "http_5xx", 1), ("fault", 1, "connect_refused", 1)}
    markdown = render_markdown(results)
    assert "Sessions: 2 of 4 survived every turn (survival by start phase: baseline 50%, fault 50%, recovery no data)" in markdown
    html = render_html(results)
    assert "Sessions broken, by where they broke" in html and "<td>http_5xx</td>" in html and "us-east" in html
    assert "Agent workflows" not in html  # no workflow in this run


def test_ttft_by_turn_counts_answered_turns_only():
    by_turn = ttft_by_turn(frame(SESSIONS))
    assert sorted(by_turn) == ["1", "2", "3"]
    assert by_turn["3"]["n"] == 2 and by_turn["3"]["max"] == pytest.approx(0.3)
    assert by_turn["2"]["n"] == 3  # a's, c's and f's; b's failed, e's abandoned


def test_survival_rate_leaves_unfinished_sessions_out():
    fates = session_fates(frame([turn(1, "x", 1, turns=2), turn(2, "x", 2, turns=2), turn(3, "y", 1, turns=2)]))
    assert session_survival_rate(fates) == 1.0
    assert session_survival_rate(fates[fates["session"] == "y"]) is None
    assert sessions_summary(session_fates(frame([req(1)])), phase_windows(timeline())) is None


WORKFLOWS = [
    step(1, "ok", 1, calls=1), step(1.5, "ok", 2, calls=1), step(2, "ok", 3, calls=0, e2e=0.5),
    step(3, "limit", 1, calls=1), step(3.5, "limit", 2, calls=1), step(4, "limit", 3, calls=1),
    step(5, "cut", 1, calls=1), step(5.5, "cut", 2, calls=None, outcome="failed", error_class="stream_cut"),
    step(6, "late", 1, calls=1),  # the run ended before step 2
]


def test_workflow_fates_success_steps_and_e2e():
    fates = workflow_fates(frame(WORKFLOWS)).set_index("workflow")
    assert fates["fate"].to_dict() == {"ok": "completed", "limit": "step_limit", "cut": "failed", "late": "unfinished"}
    assert fates.loc["ok", "e2e"] == pytest.approx(1.5)  # step 3 ends at T0 + 2.5, step 1 was sent at T0 + 1
    assert workflow_success_rate(fates.reset_index()) == pytest.approx(1 / 3)
    summary = workflows_summary(fates.reset_index())
    assert summary.failed_by == {"step_limit": 1, "stream_cut": 1} and summary.unfinished == 1
    results = build_results(spec(slos=[
        {"name": "flows", "metric": "workflow_success_rate", "op": ">=", "threshold": "90%", "phase": "baseline"},
        {"name": "steps", "metric": "workflow_steps", "stat": "max", "op": "<=", "threshold": 3, "phase": "baseline"},
        {"name": "flow-e2e", "metric": "workflow_e2e", "stat": "p50", "op": "<=", "threshold": 1.4, "phase": "baseline"},
    ]), {}, frame(WORKFLOWS), None, timeline(), environment={
        "brownout": "t", "python": "3", "platform": "p", "host": "h", "workers": 1})
    baseline = results.phases["baseline"]
    assert (baseline.workflows, baseline.workflows_unfinished) == (3, 1)
    assert (baseline.workflow_steps.n, baseline.workflow_steps.max, baseline.workflow_steps.p50) == (3, 3, 3)
    assert {s.name: s.status for s in results.slos} == {"flows": "fail", "steps": "pass", "flow-e2e": "fail"}
    assert results.slos[0].actual == pytest.approx(1 / 3)
    assert "Workflows: 1 of 3 reached a final answer" in render_markdown(results)
    assert "Agent workflows" in render_html(results) and "step_limit 1" in render_html(results)


def test_stat_goes_with_workflow_distributions_only():
    with pytest.raises(ValueError, match="needs a stat"):
        spec(slos=[{"name": "s", "metric": "workflow_e2e", "op": "<", "threshold": 1}])
    with pytest.raises(ValueError, match="takes no stat"):
        spec(slos=[{"name": "s", "metric": "session_survival_rate", "stat": "p50", "op": ">", "threshold": 0.5}])
    with pytest.raises(ValueError, match="beyond 100%"):
        spec(slos=[{"name": "s", "metric": "session_survival_rate", "op": ">", "threshold": 2}])
