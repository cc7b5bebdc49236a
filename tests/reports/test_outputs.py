"""Results document and its outputs: JSON round trip, JUnit structure, Markdown, self-contained HTML."""

from __future__ import annotations

import typing

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from lxml import etree

from brownout.spec.objectives import SLO
from brownout.rundata.timeline import FaultWindow, TimelineEvent
from brownout.rundata.records import RecordWriter, RequestRecord, load_records
from brownout.rundata.probes import ProbeResult
from brownout.reports import (
    EXIT_CODES,
    RunResults,
    build_results,
    collect_environment,
    evaluate_steady_state,
    render_html,
    render_markdown,
    write_all,
    write_markdown,
)
from brownout.rundata.harness import HarnessObservations
from brownout.reports.raw import read_records_csv
from brownout.reports.results import Verdict
from brownout.reports.slo import evaluate
from tests.reports.builders import T0, frame, probes, req, spec, timeline

SLOS = [
    {"name": "avail", "metric": "success_rate", "op": ">=", "threshold": "90%", "severity": "critical"},
    {"name": "ttft-adj", "metric": "ttft", "stat": "p95", "adjusted": True, "op": "<=", "threshold": "2s"},
    {"name": "tpot", "metric": "tpot", "stat": "p50", "op": "<=", "threshold": "50ms"},  # 1-token outputs: no data
    {"name": "tpot-lenient", "metric": "tpot", "stat": "p50", "op": "<=", "threshold": "50ms", "inconclusive": "pass"},
    {"name": "baseline-ttft", "metric": "ttft", "stat": "p95", "op": "<=", "threshold": "1s", "phase": "baseline"},
    {"name": "rto", "metric": "time_to_recover", "op": "<=", "threshold": "10s"},
]


def scenario(status="passed", description="Kill <script>alert(1)</script> a region", message=""):
    experiment = spec(
        metadata={"name": "region-drill", "description": description},
        probes=[{"name": "health", "kind": "http"}],
        slos=SLOS,
        steady_state={"probes": ["health"], "recheck_after_recovery": False},
        scoring={"recovery_min_requests": 4},  # two requests a second: judge the 2 s buckets
    )
    region = FaultWindow("east-down", "sandbox-region-down", T0 + 10, T0 + 20, region="us-east", targets=["us-east"])
    tl = timeline(faults=[region])
    tl.events += [TimelineEvent(T0 + 10, "fault_injected", "east-down"),
                  TimelineEvent(T0 + 15, "guard_fired", "errors", {"reason": "error rate 60% > 50%"})]
    rows = [req(t / 2, tokens=1, region="us-east") for t in range(20)]
    rows += [req(10 + t / 2, outcome="failed") for t in range(20)]  # never fails over, never recovers
    rows += [req(20 + t / 2, outcome="failed", error_class="throttled", status=429) for t in range(20)]
    runs = probes([ProbeResult("health", "http", T0 + t, t < 10, 0.02 if t < 10 else None,
                               "ok" if t < 10 else "timeout after 5s") for t in range(0, 30, 2)])
    return build_results(experiment, experiment.model_dump(mode="json"), frame(rows), runs, tl, status=status,
                         message=message, environment=collect_environment(2), records_paths=["/tmp/records.jsonl"])


@pytest.fixture(scope="module")
def results() -> RunResults:
    return scenario()


def test_verdict_score_and_slo_statuses(results):
    assert results.verdict == "failed" and results.exit_code == 1
    assert {s.name: s.status for s in results.slos} == {
        "avail": "fail", "ttft-adj": "fail", "tpot": "inconclusive", "tpot-lenient": "inconclusive",
        "baseline-ttft": "pass", "rto": "fail"}
    assert results.recovery.status == "never" and results.recovery.value == math.inf
    assert results.failovers[0].status == "never"
    assert results.phases["fault"].latency_adjusted["ttft"].p95 == math.inf
    assert results.steady_state_held
    assert results.score is not None and 0 <= results.score < 50


def test_status_from_runner_overrides_the_verdict():
    aborted = scenario(status="aborted", message="stop condition 'errors' fired")
    assert aborted.verdict == "aborted" and aborted.exit_code == 3
    assert "stop condition 'errors' fired" in render_markdown(aborted)


def test_every_verdict_has_its_own_exit_code():
    verdicts = typing.get_args(Verdict)
    assert set(verdicts) <= set(EXIT_CODES)
    codes = [EXIT_CODES[v] for v in verdicts]
    assert len(set(codes)) == len(codes) and EXIT_CODES["passed"] == 0


def test_runner_style_call_with_probe_list_live_steady_results_and_environment_dict():
    experiment = spec(probes=[{"name": "health", "kind": "http"}], steady_state={"probes": ["health"]})
    rows = frame([req(t) for t in range(30)])
    runs = [ProbeResult("health", "http", T0 + t, True, 0.01, "ok") for t in range(0, 30, 3)]
    live = evaluate_steady_state(experiment, rows, runs, T0, T0 + 10, label="before faults")
    live += evaluate_steady_state(experiment, rows, [], T0 + 25, T0 + 30, label="after recovery")  # no probe runs
    environment = {**collect_environment(1).model_dump(), "packages": {"locust": None}, "base_url": "loopback"}
    result = build_results(experiment, {}, rows, runs, timeline(), status="passed", environment=environment,
                           steady_state=live, records_paths=["a.jsonl", "b.jsonl"])
    assert [(r.phase, r.status) for r in result.steady_state] == [("before faults", "pass"), ("after recovery", "inconclusive")]
    assert result.verdict == "failed" and not result.steady_state_held
    assert result.environment.model_extra == {"base_url": "loopback"}
    assert RunResults.model_validate_json(result.model_dump_json()) == result
    assert "loopback" in render_html(result) and "b.jsonl" in render_html(result)


def test_no_slos_all_passed_run_passes():
    experiment = spec()
    rows = frame([req(t) for t in range(30)])
    result = build_results(experiment, {}, rows, None, timeline(), environment=collect_environment(1))
    assert result.verdict == "passed" and result.exit_code == 0 and result.probes == []


def test_json_round_trips_with_infinities(results, tmp_path):
    paths = write_all(results, tmp_path)
    text = paths["json"].read_text()
    raw = json.loads(text)  # strict JSON: inf is the string "Infinity"
    assert raw["schema_version"] == "brownout.results/v1"
    assert raw["recovery"]["value"] == "Infinity"
    back = RunResults.model_validate_json(text)
    assert back == results.model_copy(update={"outputs": {k: str(p) for k, p in paths.items()}})
    assert back.outputs["html"].endswith("report.html") and back.records_paths == ["/tmp/records.jsonl"]
    assert set(paths) == {"json", "junit", "markdown", "html"} and all(p.exists() for p in paths.values())


JUNIT_XSD = Path(__file__).with_name("junit-10.xsd")


def check_junit(path: Path) -> ET.Element:
    """Valid against the common JUnit schema (junit-10.xsd) and every suite's counts match its cases."""
    schema = etree.XMLSchema(etree.parse(str(JUNIT_XSD)))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    root = ET.parse(path).getroot()
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases)
        assert int(suite.get("skipped", "0")) == sum(c.find("skipped") is not None for c in cases)
    return root


def test_the_schema_rejects_what_ci_readers_reject(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text('<testsuites skipped="1"><testsuite name="s" tests="1" failures="0" errors="0" time="1s">'
                   '<testcase classname="c"><flop/></testcase></testsuite></testsuites>')
    schema = etree.XMLSchema(etree.parse(str(JUNIT_XSD)))
    assert not schema.validate(etree.parse(str(bad)))
    messages = " ".join(e.message for e in schema.error_log)
    assert "skipped" in messages and "time" in messages and "name" in messages and "flop" in messages


def test_junit_structure_and_counts(results, tmp_path):
    root = check_junit(write_all(results, tmp_path)["junit"])
    assert root.tag == "testsuites"
    slos, steady = root.findall("testsuite")
    assert (slos.get("tests"), slos.get("failures"), slos.get("skipped")) == ("6", "4", "1")
    assert (root.get("tests"), root.get("failures")) == ("7", "4")
    by_name = {c.get("name"): c for c in slos.findall("testcase")}
    assert by_name["avail [fault]"].find("failure").get("message") == "actual 0% vs threshold >= 90%; failed requests: http_5xx 20"
    assert by_name["tpot [fault]"].find("failure").get("message").startswith("inconclusive: no data for tpot")
    assert by_name["tpot-lenient [fault]"].find("skipped") is not None
    assert by_name["baseline-ttft [baseline]"].find("failure") is None
    assert steady.find("testcase").get("name") == "probe-health [before faults]"


def test_junit_reports_an_aborted_run_as_an_error(tmp_path):
    root = check_junit(write_all(scenario(status="aborted"), tmp_path)["junit"])
    run = root.findall("testsuite")[-1]
    assert run.get("errors") == "1" and "error rate 60%" in run.find("testcase/error").text


def test_markdown_summary_and_step_summary(results, tmp_path, monkeypatch):
    text = render_markdown(results)
    assert "❌ failed" in text and f"resilience score {results.score:.0f}/100" in text
    assert "| avail | `success_rate >= 0.9` | fault | 0% | -90 pp | ❌ fail |" in text
    assert "| TTFT p95 (adjusted) | 100 ms | ∞ | ∞ |" in text
    assert "| throttle rate | 0% | 0% | +0 pp | 100% | +100 pp |" in text
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_markdown(results, tmp_path / "summary.md")
    assert summary.read_text().startswith("earlier step\n") and "region-drill" in summary.read_text()


RESOURCE_LOADS = re.compile(r"<script|<link|<iframe|<img|@import|url\(|\b(src|href)\s*=", re.I)


def test_html_is_self_contained_with_charts_and_escaped_text(results, tmp_path):
    html = write_all(results, tmp_path)["html"].read_text()
    assert not RESOURCE_LOADS.search(html), RESOURCE_LOADS.search(html)
    assert "http://" not in html and "https://" not in html
    assert re.findall(r'<svg[^>]*aria-label="([^"]*)"', html) == [
        "Throughput (requests/s)", "Output tokens/s", "Outcome rates", "TTFT, time to first token (ms)",
        "E2E, whole-request latency (ms)", "Failed requests/s by error class", "Answered requests/s by region (served_by)",
        "Probes: pass (green) / fail (red)", "Failed requests by error class"]   # no ITL: no request had gaps
    assert '<path d="M' in html and 'class="band"' in html and 'class="band-name">east-down<' in html
    assert "verdict-failed" in html and "✗ failed" in html and "❌" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for section in ("SLOs", "Phase comparison", "Probes", "Fault log", "Score breakdown", "Experiment as run", "Environment"):
        assert f"<h2>{section}</h2>" in html
    assert "east-down" in html and "timeout after 5s" in html and "∞" in html


def test_html_of_an_empty_run_renders():
    experiment = spec()
    result = build_results(experiment, {}, None, None, timeline(), environment=collect_environment(1))
    html = render_html(result)
    assert "no data" in html and html.count("<svg") == 2     # throughput and outcome rates; no latency drawn empty


def test_raw_records_are_written_as_compressed_csv_from_the_jsonl_files(tmp_path):
    jsonl = tmp_path / "load" / "records.jsonl"
    with RecordWriter(jsonl) as writer:
        for i, row in enumerate([req(t / 2, itl=[0.02, 0.025]) for t in range(20)] + [req(10.5, outcome="failed")]):
            writer.write(RequestRecord(**{**row, "request_id": f"r{i}", "error": "boom, \"quoted\"\nline" if i == 20 else None}))
    experiment = spec()
    result = build_results(experiment, {}, load_records([jsonl]), None, timeline(), environment=collect_environment(1),
                           records_paths=[str(jsonl)])
    paths = write_all(result, tmp_path / "a")
    assert paths["records"].name == "records.csv.gz" and paths["records"].read_bytes()[:2] == b"\x1f\x8b"
    assert RunResults.model_validate_json(paths["json"].read_text()).outputs["records"] == str(paths["records"])
    back = read_records_csv(paths["records"])
    expected = load_records([jsonl])
    assert list(back.columns) == list(expected.columns) and len(back) == 21
    assert back["itl"][0] == [0.02, 0.025] and back["error"][20] == 'boom, "quoted"\nline'
    assert back["t_send"].tolist() == expected["t_send"].tolist()
    # the runner's frame gives the same file, byte for byte, and so does a re-render
    again = write_all(result, tmp_path / "b", records=expected)
    assert again["records"].read_bytes() == paths["records"].read_bytes()


def test_no_records_output_when_the_record_files_are_gone(results, tmp_path):
    assert results.records_paths == ["/tmp/records.jsonl"]
    paths = write_all(results, tmp_path)
    assert "records" not in paths and not (tmp_path / "records.csv.gz").exists()


# --- saturation, unscored runs, late faults, rounding: every output tells the same story -------------

BUSY = HarnessObservations(load_cpu_share=0.95, loop_lag_p99=0.034, loop_lag_max=0.2, cpu_pressure=0.1, steal=0.0,
                           load_per_core=1.5, cores=2)


def saturated_run():
    """TTFT 2 s against 500 ms during the fault, availability fine, the load generator saturated; the fault
    went in 0.4 s late and came out 0.05 s late."""
    experiment = spec(metadata={"name": "busy"}, slos=[
        {"name": "ttft", "metric": "ttft", "stat": "p95", "op": "<=", "threshold": "500ms"},
        {"name": "avail", "metric": "success_rate", "op": ">=", "threshold": "90%"}])
    late = FaultWindow("east-down", "sandbox-region-down", T0 + 10.4, T0 + 20.05, planned_inject_at=T0 + 10,
                       planned_rollback_at=T0 + 20, region="us-east")
    on_time = FaultWindow("slow-link", "latency", T0 + 10.1, T0 + 15, planned_inject_at=T0 + 10, planned_rollback_at=T0 + 15)
    rows = [req(t / 4, ttft=2.0 if 40 <= t < 80 else 0.1) for t in range(120)]
    return build_results(experiment, {}, frame(rows), None, timeline(faults=[late, on_time]),
                         environment=collect_environment(1), harness=BUSY)


@pytest.fixture(scope="module")
def busy():
    return saturated_run()


def test_markdown_of_a_saturated_run_says_so_and_lists_the_late_fault(busy):
    text = render_markdown(busy)
    assert text.startswith("### brownout · busy: ❔ inconclusive · resilience score —\n")
    assert "> **⚠️ The load generator was saturated: latency figures are not trustworthy.**" in text
    assert "> - the load generator was saturated: load-process CPU share 95% > 90%" in text
    assert "> - the load generator was saturated: event-loop lag p99 34 ms > 20 ms" in text
    assert "| ttft | `ttft.p95 <= 0.5` | fault | 2 s | -300% | ❔ inconclusive (harness saturated) |" in text
    assert "| avail | `success_rate >= 0.9` | fault | 100% | +10 pp | ✅ pass |" in text
    assert "- `east-down` (sandbox-region-down): injected 0.40 s late, rolled back 0.05 s late; lasted 9.65 s of 10 s planned" in text
    assert "- `slow-link`" not in text     # 0.1 s off plan is within FAULT_DRIFT_WARNING


def test_html_of_a_saturated_run_has_the_banner_the_self_check_and_the_fault_drift(busy):
    html = render_html(busy)
    assert not RESOURCE_LOADS.search(html)
    banner = html[html.index('<div class="banner"'):]
    banner = banner[:banner.index("</div>")]
    assert "The load generator was saturated: latency figures are not trustworthy" in banner
    assert "<li>the load generator was saturated: event-loop lag p99 34 ms &gt; 20 ms</li>" in banner
    assert html.index('class="banner"') < html.index('<div class="summary">')
    section = html[html.index("<h2>Harness self-check</h2>"):html.index("<h2>Phase comparison</h2>")]
    assert ('<tr class="st-fail"><td>event-loop lag p99</td><td class="num">34 ms</td><td class="num">≤ 20 ms</td>'
            "<td>over the limit</td></tr>") in section
    assert "<td>CPU pressure</td><td class=\"num\">10%</td><td class=\"num\">≤ 90%</td><td>within</td>" in section
    assert "<td>cores</td><td class=\"num\">2</td>" in section
    assert "verdict-inconclusive" in html and "? inconclusive (harness saturated)" in html
    assert "No score:" in html and "not scored: inconclusive" in html and "<h2>Score breakdown</h2>" in html
    log = html[html.index("<h2>Fault log</h2>"):]
    late = log[log.index('<tr class="late">'):]
    late = late[:late.index("</tr>")]
    assert "east-down" in late and "⚠ off plan" in late and "+0.40 s" in late and "9.65 s" in late and "+0.05 s" in late
    assert log.count('<tr class="late">') == 1 and "+0.10 s" in log


def test_junit_skips_harness_inconclusive_cases_and_carries_the_verdict_as_properties(busy, tmp_path):
    root = check_junit(write_all(busy, tmp_path)["junit"])
    slos = root.findall("testsuite")[0]
    assert (slos.get("failures"), slos.get("skipped")) == ("0", "1")
    skipped = slos.find("testcase[@name='ttft [fault]']/skipped").get("message")
    assert skipped.startswith("inconclusive (harness saturated): the load generator was saturated: ")
    props = [(p.get("name"), p.get("value")) for p in slos.findall("properties/property")]
    assert props[:4] == [("brownout.verdict", "inconclusive"), ("brownout.exit_code", "6"), ("brownout.score", "—"),
                         ("brownout.harness.saturated", "true")]
    assert ("brownout.harness.reason", "the load generator was saturated: event-loop lag p99 34 ms > 20 ms") in props
    assert slos[0].tag == "properties"


def test_an_unscored_run_prints_a_dash_for_its_score_everywhere(tmp_path):
    aborted = scenario(status="aborted")
    assert aborted.score is None
    assert "🛑 aborted · resilience score —" in render_markdown(aborted)
    html = render_html(aborted)
    assert '<div class="big">—</div>' in html and "not scored: aborted" in html and "No score:" in html
    root = check_junit(write_all(aborted, tmp_path)["junit"])
    assert ("brownout.score", "—") in [(p.get("name"), p.get("value")) for p in root.iter("property")]


def test_a_scored_run_shows_its_score_and_breakdown(results, tmp_path):
    html = render_html(results)
    assert f'{results.score:.0f}<span class="muted">/100</span>' in html and "No score:" not in html
    props = dict((p.get("name"), p.get("value")) for p in check_junit(write_all(results, tmp_path)["junit"]).iter("property"))
    assert props["brownout.score"] == f"{results.score:.1f}" and props["brownout.harness.saturated"] == "false"


def test_a_near_miss_never_reads_as_its_threshold_in_any_output(results, tmp_path):
    objective = SLO(name="avail", metric="success_rate", op=">=", threshold="99%")
    near = evaluate(objective, 0.989987, name="avail", kind="slo", phase="fault")
    exact = evaluate(objective, 0.99, name="exact", kind="slo", phase="fault")
    run = results.model_copy(update={"slos": [near, exact]})
    text = render_markdown(run)
    assert "| avail | `success_rate >= 0.99` | fault | 98.999% |" in text
    assert "| exact | `success_rate >= 0.99` | fault | 99% |" in text
    html = render_html(run)
    assert '<td class="num">98.999%</td><td class="num">&gt;= 99%</td>' in html
    assert '<td class="num">99%</td><td class="num">&gt;= 99%</td>' in html
    failure = check_junit(write_all(run, tmp_path)["junit"]).find(".//testcase[@name='avail [fault]']/failure")
    assert failure.get("message") == "actual 98.999% vs threshold >= 99%; failed requests: http_5xx 20"
