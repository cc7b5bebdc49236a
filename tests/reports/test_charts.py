"""The SVG charts, the phase comparison and the impact text, on hand-made inputs (pure functions: no run)."""

from __future__ import annotations

import re

from brownout.reports.charts import Band, Chart, Line, Strip, StripRun, Threshold, render_chart, render_strip
from brownout.reports.impact import FaultImpact, LatencyKey
from brownout.reports.impact_text import impact_line, impact_row
from brownout.reports.phases import change


def chart(**over) -> str:
    base = dict(title="t", x=[0.0, 2.0, 4.0, 6.0], lines=[Line("a", [1.0, None, 3.0, 4.0])], x_max=8.0, bucket=2.0,
                width=200 + 64 + 16)      # 200 px of plot: 25 px per second
    base.update(over)
    return render_chart(Chart(**base))


def test_values_are_steps_over_their_bucket_broken_at_no_data():
    svg = chart(y_max=4.0)
    paths = re.findall(r'<path d="([^"]+)"', svg)
    # bucket 0-2 at 1 (one step), a gap, then 4-6 at 3 and 6-8 at 4: horizontal, vertical, horizontal
    assert len(paths) == 2
    assert re.fullmatch(r"M64\.0,[\d.]+H114\.0", paths[0])
    assert re.fullmatch(r"M164\.0,[\d.]+H214\.0V[\d.]+H264\.0", paths[1])


def test_the_axis_starts_at_the_first_request():
    svg = chart(x_min=4.0, y_max=4.0)
    assert len(re.findall(r'<path d="', svg)) == 1          # the 0-2 bucket is before the axis
    ticks = re.findall(r'class="tick" text-anchor="middle">([^<]+)<', svg)
    assert ticks[0] == "4s" and "0s" not in ticks
    assert len(re.findall(r'class="hover"', svg)) == 2       # hover columns only for drawn buckets


def test_hover_lists_every_line_of_the_bucket():
    svg = chart(lines=[Line("p50", [10.0, 20.0, None, 5.0]), Line("p99", [30.0, float("inf"), 1.0, 2.0])],
                value_format=lambda v: f"{v:.0f} ms")
    titles = re.findall(r'class="hover"><title>([^<]+)</title>', svg)
    assert titles[1] == "2s to 4s: p50 20 ms; p99 ∞" and titles[2] == "4s to 6s: p50 no data; p99 1 ms"


def test_thresholds_are_drawn_or_named_off_scale_and_bands_are_named():
    svg = chart(thresholds=[Threshold(5.0, "SLO a ≤ 5"), Threshold(100.0, "SLO b ≤ 100")],
                bands=[Band(2.0, 4.0, "fault kill (replica)", "kill")])
    assert 'class="slo"' in svg and "SLO a ≤ 5</text>" in svg
    assert "↑ SLO b ≤ 100 (off scale)" in svg
    assert re.search(r'class="band-name">kill</text>', svg) and "<title>fault kill (replica)</title>" in svg
    top = float(re.findall(r'text-anchor="end">([\d.]+)</text>', svg)[-1])
    assert 5.0 <= top < 10.0                                  # the axis grew to show the threshold at 5


def test_stacked_layers_pile_up():
    svg = chart(lines=[Line("eu", [1.0, 1.0, 0.0, 0.0]), Line("us", [1.0, 0.0, 2.0, 2.0])], stacked=True, y_max=2.0)
    polygons = re.findall(r'<polygon points="([^"]+)"', svg)
    assert len(polygons) == 2
    us_top = [float(p.split(",")[1]) for p in polygons[1].split()[:2]]
    assert us_top == [28.0, 28.0]                            # 1 + 1 = the top of a 2-high axis


def test_probe_strip_marks_each_run():
    svg = render_strip(Strip("probes", [("chat", [StripRun(1.0, True, "chat +1s: pass"), StripRun(3.0, False, "chat: FAIL")])],
                             x_max=4.0))
    assert svg.count('class="run-ok"') == 1 and svg.count('class="run-fail"') == 1 and "chat: FAIL" in svg


def test_change_against_the_baseline():
    assert change(0.9, 1.0, "success_rate") == "-10 pp"
    assert change(0.5, 0.1, "ttft") == "+400%"
    assert change(float("inf"), 0.1, "ttft") == "∞"
    assert change(None, 0.1, "ttft") == "—" and change(0.0, 0.0, "goodput") == "±0%"


def test_impact_line_says_what_when_cost_and_back():
    impact = FaultImpact(fault="kill", kind="sandbox-replica-kill", targets=["llm-a1"], injected_at=112.0,
                         rolled_back_at=118.0, until=126.0, requests=40, errors=30,
                         errors_by_class={"http_5xx": 20, "connect_refused": 6, "timeout": 3, "reset": 1},
                         degraded=2, success_rate=0.25, worst_success_rate=0.0, latency=LatencyKey(metric="ttft", stat="p99"),
                         latency_baseline=0.1, latency_during=0.5, latency_change=4.0, status="back", back_at=122.0,
                         back_after=4.0)
    assert impact_line(impact, 100.0) == (
        "kill (sandbox-replica-kill on llm-a1), +12.0s to +18.0s: 30 of 40 requests failed (http_5xx 20, "
        "connect_refused 6, timeout 3, 1 more classes 1), 2 degraded; worst success rate 0%; ttft p99 100 ms → 500 ms (+400%); "
        "service back at +22.0s, 4 s after rollback")
    row = impact_row(impact, 100.0)
    assert (row.failed, row.worst, row.back) == ("30/40 (2 degraded)", "0%", "+22.0s (4 s after rollback)")


def test_gauges_keep_the_highest_sample_per_bucket_per_source():
    from brownout.reports.metrics.gauges import gauge_series
    from brownout.reports.window import Window
    from brownout.rundata.gauges import Sample

    buckets = [Window("b0", 0.0, 2.0), Window("b1", 2.0, 4.0), Window("b2", 4.0, 6.0)]
    samples = [Sample(0.5, "llm-a", "kv", {}, 0.2), Sample(1.5, "llm-a", "kv", {}, 0.7), Sample(4.1, "llm-a", "kv", {}, 0.1),
               Sample(2.5, "llm-b", "kv", {"gpu": "0"}, 0.4), Sample(9.0, "llm-b", "kv", {"gpu": "0"}, 1.0)]
    series = gauge_series(samples, buckets)
    assert [(s.metric, s.source, s.values) for s in series] == [
        ("kv", "llm-a", [0.7, 0.7, 0.1]), ("kv", "llm-b{gpu=0}", [None, 0.4, 0.4])]   # 9.0 is past the last bucket


def test_a_gauge_holds_its_level_until_the_next_scrape_was_due():
    from brownout.reports.metrics.gauges import gauge_series
    from brownout.reports.window import Window
    from brownout.rundata.gauges import Sample

    buckets = [Window(f"b{i}", float(i), i + 1.0) for i in range(12)]
    # scraped every 2 s, then nothing after 4.5 s (the replica is down) until 10.5 s: held while the next
    # scrape was not due (1.5 x 2 s), then no data
    samples = [Sample(t, "llm-a", "running", {}, v) for t, v in ((0.5, 1.0), (2.5, 3.0), (4.5, 2.0), (10.5, 0.0))]
    [series] = gauge_series(samples, buckets)
    assert series.values == [1.0, 1.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0, None, None, 0.0, 0.0]
