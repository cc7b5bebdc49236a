"""The trends index over many saved runs: found recursively, grouped per experiment, linked, charted."""

from __future__ import annotations

import dataclasses
import os
import re

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


def test_an_empty_folder_gives_an_empty_index_and_a_file_is_refused(tmp_path):
    assert "No results.json found." in write_index(tmp_path).read_text()
    with pytest.raises(SpecError, match="not a folder of results"):
        write_index(tmp_path / "index.html")


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
    assert len(points) == 2 and "<circle" not in chart          # 50 then 70, nothing for the other three
    assert float(points[0].split(",")[1]) > float(points[1].split(",")[1])
