"""The HTML report of a real sandbox run, opened in headless Chromium at 1280 px as a reader would.

The screenshot is kept in `test-artifacts/report.png` (gitignored) for people and CI to look at, with one
of each chart family (`chart-N.png`).
"""

from __future__ import annotations

import json

import pytest

from brownout.reports.trends import write_index
from tests.e2e.conftest import REPO, processes_with_marker, run_brownout, wait_for
from tests.reports.browser import Browser, find_or_install_chromium

pytestmark = pytest.mark.slow

EXPERIMENT = REPO / "tests" / "reports" / "experiments" / "tiny-region-down.yaml"
ARTIFACT = REPO / "test-artifacts" / "report.png"
FAMILIES = ("Throughput", "Output tokens/s", "Outcome rates", "TTFT", "ITL", "E2E", "Failed requests/s by error class",
            "Answered requests/s by region", "Probes", "Gauge ", "Failed requests by error class")
"""One screenshot each (test-artifacts/chart-N.png): steps, stacked areas, the probe strip, gauges, bars."""


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_or_install_chromium()
    if binary is None:
        pytest.skip("no chromium and it could not be installed (apt-get install chromium needs root and Debian's archive)")
    return binary


def test_the_detector_sees_console_errors_exceptions_and_failed_loads(chromium, tmp_path):
    """The check below is only worth something if a broken page fails it."""
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><title>t</title><p>hi</p><script>console.error("boom"); nope();</script>'
                    '<img src="missing.png">')
    with Browser(chromium, tmp_path / "profile") as browser:
        load = browser.load(page.as_uri())
    assert any("boom" in e for e in load.errors)
    assert any("nope is not defined" in e for e in load.errors)
    assert any("ERR_FILE_NOT_FOUND" in e for e in load.errors)


def test_report_of_a_real_run_loads_cleanly_in_chromium_and_shows_the_verdict(chromium, brownout_env, tmp_path):
    out = tmp_path / "out"
    env = {**brownout_env, "BROWNOUT_SANDBOX_PROFILE": "fragile"}   # failures, ∞ and a failover that never came
    proc = run_brownout(["run", str(EXPERIMENT), "--out", str(out), "--quiet"], env, timeout=180)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "failed"
    fault_classes = results["phases"]["fault"]["errors_by_class"]
    assert fault_classes, "a fragile region loss fails requests"
    top = next(iter(fault_classes))
    assert "failed how: fault: " in proc.stderr and f"{top} {fault_classes[top]}" in proc.stderr, proc.stderr  # last lines

    with Browser(chromium, tmp_path / "profile", width=1280) as browser:
        load = browser.load((out / "report.html").as_uri())
        charts = browser.evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width)")
        labels = browser.evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.getAttribute('aria-label'))")
        hover = browser.evaluate("document.querySelector('svg.chart rect.hover title').textContent")
        verdict = browser.evaluate("document.querySelector('.big[class*=verdict-]').innerText")
        browser.screenshot(ARTIFACT)
        shots = {family: browser.screenshot_of("svg.chart", next(i for i, label in enumerate(labels) if label.startswith(family)),
                                               ARTIFACT.with_name(f"chart-{k}.png"))
                 for k, family in enumerate(FAMILIES) if any(label.startswith(family) for label in labels)}
        index = browser.load(write_index(tmp_path).as_uri())

    assert load.errors == []
    assert load.requests == [(out / "report.html").as_uri()], "the report must load nothing else"
    assert load.title == "brownout · tiny-region-down · failed"
    assert verdict == "✗ failed"
    assert "available-during-fault" in load.text and "resilience score" in load.text
    assert load.scroll_width <= 1280, "the page scrolls sideways at 1280 px"
    assert all(1100 <= w <= 1240 for w in charts), charts
    assert set(shots) == set(FAMILIES), labels          # every chart family is drawn for a fragile region loss
    assert all(path.stat().st_size > 5_000 for path in shots.values()), {f: p.stat().st_size for f, p in shots.items()}
    assert " to " in hover and "answered" in hover, hover      # a bucket's values on hover
    assert "Impact: east-down (sandbox.region-down" in load.text and "requests failed (" in load.text
    assert "Failures by class" in load.text
    assert ARTIFACT.stat().st_size > 50_000
    assert index.errors == [] and "tiny-region-down" in index.text and index.scroll_width <= 1280
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []
