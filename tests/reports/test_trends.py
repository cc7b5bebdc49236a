"""The trends index over many saved runs: found recursively, grouped per experiment, linked, charted."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from brownout.errors import SpecError
from brownout.reports import Environment, write_all
from brownout.reports.trends import find_runs, write_index
from tests.reports.test_outputs import scenario

DAY = 86_400.0


def saved_runs(root, base):
    """Three game days a week apart (score rising), one run of another experiment, one foreign file."""
    for i, score in enumerate([41.0, 63.5, 88.0]):
        timeline = dataclasses.replace(base.timeline, run_start=base.timeline.run_start + i * 7 * DAY)
        run = base.model_copy(update={"score": score, "timeline": timeline})
        write_all(run, root / "game-days" / f"week-{i}")
    other = base.model_copy(update={"experiment": "quickstart", "slos": base.slos[:1], "verdict": "passed"})
    write_all(other, root / "ci" / "pr-17")
    (root / "junk").mkdir()
    (root / "junk" / "results.json").write_text('{"hello": "world"}')


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    saved_runs(root, scenario())
    return root, write_index(root).read_text()


def test_runs_are_found_recursively_oldest_first_and_foreign_files_listed(index):
    root, _ = index
    runs, skipped = find_runs(root)
    assert [r.results.score for r in runs if r.results.experiment == "region-drill"] == [41.0, 63.5, 88.0]
    assert len(runs) == 4 and len(skipped) == 1 and "junk/results.json" in skipped[0]


def test_index_groups_per_experiment_newest_first_with_links_and_slo_columns(index):
    root, html = index
    assert html.index("<h2>quickstart</h2>") < html.index("<h2>region-drill</h2>")
    drill = html[html.index("<h2>region-drill</h2>"):html.index("<h2>Not brownout results</h2>")]
    hrefs = re.findall(r'href="([^"]+)"', drill)
    assert hrefs == ["game-days/week-2/report.html", "game-days/week-1/report.html", "game-days/week-0/report.html"]
    assert all((root / h).is_file() for h in hrefs)
    assert [m for m in re.findall(r'<td class="num">(\d+|—)</td>', drill)] == ["88", "64", "41"]
    for name in ("avail", "ttft-adj", "tpot", "rto"):
        assert f"<th>{name}</th>" in drill
    assert '<td class="num st-fail" title="✗ fail">0%</td>' in drill
    assert "∞" in drill   # time to recover never came


def test_index_charts_the_score_over_time_inline(index):
    _, html = index
    assert html.count("<svg") == 2 and "<script" not in html
    chart = html[html.index("Resilience score of region-drill"):]
    chart = chart[:chart.index("</svg>")]
    points = re.search(r'<polyline points="([^"]+)"', chart).group(1).split()
    ys = [float(p.split(",")[1]) for p in points]
    assert len(points) == 3 and ys[0] > ys[1] > ys[2]   # the score rises, so the line climbs (SVG y grows down)
    assert re.search(r">\d\d-\d\d \d\d:\d\d<", chart), "a span of weeks is labelled with dates"


def test_an_empty_folder_is_an_error_not_an_empty_page_and_a_file_is_refused(tmp_path):
    with pytest.raises(SpecError, match="no brownout results under this folder") as info:
        write_index(tmp_path)
    assert info.value.file == str(tmp_path) and not (tmp_path / "index.html").exists()
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(SpecError, match=r"\(1 other results.json file\(s\)\)"):
        write_index(tmp_path)
    with pytest.raises(SpecError, match="not a folder of results"):
        write_index(tmp_path / "index.html")


def test_a_single_run_is_one_coloured_point_mid_chart_with_its_profile_and_labels(tmp_path):
    base = scenario()
    spec = {**base.spec, "metadata": {"name": "region-drill", "labels": {"team": "serving", "release": "v42"}}}
    environment = Environment.model_validate({**base.environment.model_dump(), "target_profile": "fragile"})
    write_all(base.model_copy(update={"spec": spec, "environment": environment}), tmp_path / "only")
    html = write_index(tmp_path).read_text()
    chart = html[html.index("Resilience score of region-drill, 1 scored of 1 run(s)"):]
    chart = chart[:chart.index("</svg>")]
    [(cx, fill, tooltip)] = re.findall(r'<circle cx="([\d.]+)" cy="[\d.]+" r="5" fill="([^"]+)" class="point">'
                                       r'<title>([^<]+)</title>', chart)
    assert 400 < float(cx) < 800, "one run sits mid-chart, not on the axis"
    assert len([t for t in re.findall(r'text-anchor="middle">([^<]*)<', chart) if t]) == 1   # one time label
    assert fill == "#dc2626" and tooltip.startswith("only · ") and f"{base.verdict} · score " in tooltip
    assert "<td>fragile</td><td>release=v42, team=serving</td>" in html


def test_unscored_runs_are_rows_not_points_and_a_run_saved_twice_is_one_row(tmp_path):
    base = scenario()

    def save(folder, day, verdict, score, run_id):
        timeline = dataclasses.replace(base.timeline, run_start=base.timeline.run_start + day * DAY)
        environment = Environment.model_validate({**base.environment.model_dump(), "run_id": run_id})
        run = base.model_copy(update={"verdict": verdict, "score": score, "timeline": timeline, "environment": environment})
        return write_all(run, tmp_path / folder)["json"]

    save("d0", 0, "passed", 50.0, "a")
    save("d1", 1, "aborted", None, "b")
    save("d2", 2, "inconclusive", None, "c")
    first = save("d3", 3, "failed", 70.0, "d")
    again = save("again/d3", 3, "failed", 70.0, "d")      # `brownout report --out` re-rendered the same run
    os.utime(first, (1_000_000, 1_000_000))
    save("d4", 4, "interrupted", 99.0, "e")               # written before unscored verdicts lost their score
    html = write_index(tmp_path).read_text()
    assert re.findall(r'verdict-(\w+)">', html) == ["interrupted", "failed", "inconclusive", "aborted", "passed"]
    assert re.findall(r'<td class="num"(?: title="([^"]*)")?>(\d+|—)</td>', html) == [
        ("not scored: interrupted", "—"), ("", "70"), ("not scored: inconclusive", "—"), ("not scored: aborted", "—"),
        ("", "50")]
    assert "again/d3/report.html" in html and '"d3/report.html"' not in html and again.exists()
    chart = html[html.index("Resilience score of region-drill, 2 scored of 5 run(s)"):]
    chart = chart[:chart.index("</svg>")]
    points = re.search(r'<polyline points="([^"]+)"', chart).group(1).split()
    assert len(points) == 2                                      # 50 then 70, nothing for the other three
    assert float(points[0].split(",")[1]) > float(points[1].split(",")[1])
    dots = re.findall(r'fill="([^"]+)" class="point"><title>([^<]+)</title>', chart)
    assert [(fill, tip.split(" · ")[0], tip.split(" · ")[2]) for fill, tip in dots] == [
        ("#16a34a", "d0", "passed"), ("#dc2626", "d3", "failed")]   # coloured by verdict, named on hover
    ticks = re.findall(r'class="event"><title>([^<]+)</title>', chart)
    assert [t.split(" · ")[0] + " " + t.split(" · ")[2] for t in ticks] == [
        "d1 aborted: not scored", "d2 inconclusive: not scored", "d4 interrupted: not scored"]


def test_report_index_of_an_empty_folder_exits_2_with_the_folder_named(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "brownout", "report", "--index", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and str(tmp_path) in proc.stderr and "no brownout results" in proc.stderr
