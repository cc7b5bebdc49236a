"""The console's last lines and its JSON lines, on constructed results (no run)."""

from __future__ import annotations

import io
import json

from brownout.experiments.console import Console, fields_text, rollback_line
from brownout.reports import build_results, collect_environment
from brownout.reports.console_lines import final_lines
from tests.reports.builders import frame, spec
from tests.reports.test_impact import GAME_DAY, request


def test_a_pass_shows_its_slo_table_and_why_the_score():
    experiment = spec(slos=[{"name": "avail", "metric": "success_rate", "phase": "baseline", "op": ">=", "threshold": "90%"},
                            {"name": "ttft", "metric": "ttft", "stat": "p95", "phase": "baseline", "op": "<=",
                             "threshold": "1s"}])
    rows = [request(i / 4) for i in range(50 * 4)]
    results = build_results(experiment, {}, frame(rows), None, GAME_DAY, environment=collect_environment(1))
    assert results.verdict == "passed"
    lines = final_lines(results)
    assert lines[0].startswith(f"resilience score: {results.score:.0f}/100 = slo_attainment ")
    assert lines[1] == "SLOs:"
    assert lines[2].startswith("  ✓ avail  [baseline]  success_rate 100% >= 90%") and lines[2].endswith("  pass")
    assert lines[3].startswith("  ✓ ttft   [baseline]  ttft.p95 100 ms <= 1 s")
    assert "top error classes: http_5xx 24, connect_refused 16" in lines
    assert [line.split(",")[0] for line in lines if line.startswith("impact: ")] == [
        "impact: kill (sandbox-replica-kill on llm-a1)", "impact: slow (sandbox-latency on gateway)",
        "impact: late (sandbox-latency): not injected (inject refused)"]
    assert not any("{" in line for line in lines)


def test_fault_details_read_as_words_and_nothing_undone_is_recovery_watched():
    assert fields_text({"killed": {"llm-us-east-0": 4242}, "region": "us-east", "hogs": []}) == (
        "killed: llm-us-east-0 (4242); region: us-east; hogs: none")
    assert rollback_line("kill", {"undone": False, "note": "restarted by the supervisor"}) == (
        "recovery watched 'kill' (nothing to undo: restarted by the supervisor)")
    assert rollback_line("slow", {"latency": 0}) == "rolled back 'slow'"


def test_json_lines_carry_event_level_and_strictly_ordered_ts():
    out = io.StringIO()
    console = Console("json", out)
    for i in range(50):
        console(f"line {i}", **({"event": "progress", "sent": i} if i % 2 else {}))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["event"] for line in lines[:2]] == ["log", "progress"] and lines[1]["sent"] == 1
    assert all(line["level"] == "info" for line in lines)
    stamps = [line["ts"] for line in lines]
    assert all(a < b for a, b in zip(stamps, stamps[1:]))
