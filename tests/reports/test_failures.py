"""Failed how: error classes and HTTP statuses per phase in results.json, summary.md, JUnit and the HTML report."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from brownout.reports import RunResults, build_results, collect_environment, render_html, render_markdown
from brownout.reports.failures import failure_lines
from brownout.reports.junit import render_junit
from tests.reports.builders import frame, req, spec, timeline

SLOS = [{"name": "avail", "metric": "success_rate", "op": ">=", "threshold": "90%"}]


@pytest.fixture(scope="module")
def results() -> RunResults:
    """Baseline: 20 ok, 2 dropped by the harness. Fault: 6 timeouts, 3 HTTP 503, 1 429, 10 ok (2 with usage set aside,
    1 anomaly)."""
    dropped = [{**req(9.6, outcome="failed", error_class="dropped", sent=False), "drop_reason": "load_backlog"},
               {**req(9.7, outcome="failed", error_class="dropped", sent=False), "drop_reason": "in_flight_cap"}]
    rows = [req(t / 2) for t in range(20)] + dropped
    rows += [req(10 + t / 2, outcome="failed", error_class="timeout") for t in range(6)]
    rows += [req(13 + t / 2, outcome="failed", error_class="http_5xx", status=503) for t in range(3)]
    rows += [req(14.8, outcome="failed", error_class="throttled", status=429)]
    for t in range(10):
        row = req(15 + t / 2)
        if t < 2:  # what the load records for a usage it set aside
            row.update(usage_mismatch="usage says 1000000 output tokens, the stream carried 5", token_source="chunks")
        row["anomaly"] = "after [DONE]: 12 more bytes (ignored)" if t == 5 else None
        rows.append(row)
    rows += [req(20 + t / 2) for t in range(20)]
    experiment = spec(slos=SLOS)
    return build_results(experiment, {}, frame(rows), None, timeline(), environment=collect_environment(1))


def test_counts_per_class_and_status_per_phase_in_results(results):
    fault = results.phases["fault"]
    assert fault.errors_by_class == {"timeout": 6, "http_5xx": 3, "throttled": 1}
    assert list(fault.errors_by_class) == ["timeout", "http_5xx", "throttled"]  # most first
    assert fault.errors_by_status == {"503": 3, "429": 1}
    assert fault.usage_mismatches == 2 and fault.anomalies == 1
    assert fault.token_sources == {"chunks": 2, "usage": 8}
    assert results.phases["baseline"].errors_by_class == {}  # dropped arrivals are the harness's
    assert results.phases["baseline"].error_rate == 0.0 and results.phases["baseline"].requests == 20
    assert results.phases["recovery"].errors_by_class == {}
    a = results.arrivals
    assert (a.scheduled, a.sent, a.dropped) == (62, 60, 2) and a.scheduled == a.sent + a.dropped
    assert a.drop_reasons == {"in_flight_cap": 1, "load_backlog": 1}
    assert RunResults.model_validate_json(results.model_dump_json()) == results


def test_summary_console_and_junit_name_the_top_classes(results):
    lines = failure_lines(results)
    assert lines[0] == "fault: 10 failed: timeout 6, http_5xx 3, throttled 1 (HTTP 503 ×3, HTTP 429 ×1)"
    assert lines[1] == ("usage disagrees with the stream on 2 requests (their token counts come from the stream; "
                        "token sources of answered requests: chunks 2, usage 48)")
    markdown = render_markdown(results)
    assert "**Failed how:**" in markdown and f"- {lines[0]}" in markdown
    assert ("arrivals: 62 scheduled = 60 sent + 2 dropped by the harness (in-flight cap full 1, "
            "load generator backlog 1; not target errors)") in markdown
    root = ET.fromstring(render_junit(results))
    failure = root.find(".//testcase[@name='avail [fault]']/failure")
    assert failure is not None and failure.get("message").endswith(
        "failed requests: timeout 6, http_5xx 3, throttled 1 (HTTP 503 ×3, HTTP 429 ×1)")


def test_html_has_the_class_table_and_a_stacked_chart(results):
    html = render_html(results)
    section = html[html.index("<h2>Failures by class</h2>"):]
    section = section[: section.index("</section>")]
    chart = section[section.index("<svg"): section.index("</svg>")]
    # one segment per (phase, class) with a count, stacked in one bar per phase
    segments = re.findall(r"<title>(\w+): (\w+) (\d+)</title>", chart)
    assert ("fault", "timeout", "6") in segments and not any(s[1] == "dropped" for s in segments)
    assert len(segments) == 3 and "http" not in chart.lower().split("<title>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td>((?:<td class=\"num\">\d+</td>)+)</tr>", section)
    table = {label: [int(n) for n in re.findall(r">(\d+)<", cells)] for label, cells in rows}
    assert table["timeout"] == [0, 6, 0] and "dropped" not in table and table["HTTP 503"] == [0, 3, 0]
    assert "2 dropped by the harness" in html
    assert "usage disagrees with the stream on 2 requests" in section
    assert "http://" not in section and "<script" not in section
