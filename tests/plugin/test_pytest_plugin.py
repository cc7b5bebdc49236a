"""`pytest --brownout DIR` runs experiment files as test items, and `brownout_run` runs one from a test.

Inner pytest sessions (pytester) run tiny real experiments on the sandbox.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.conftest import REPO, processes_with_marker, wait_for

pytest_plugins = ["pytester"]

TINY = (REPO / "tests" / "reports" / "experiments" / "tiny-region-down.yaml").read_text()
PROFILE = "${BROWNOUT_SANDBOX_PROFILE:-resilient}"


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """A journal home of its own, no CI step summary, and a marker to find every process the runs start."""
    monkeypatch.setenv("BROWNOUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BROWNOUT_TEST_MARKER", str(tmp_path))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    yield tmp_path
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []


def test_yaml_is_left_alone_without_the_flag_and_bad_files_are_collection_errors(pytester, isolated):
    pytester.makefile(".yaml", resilient=TINY, notes="kind: Something\napiVersion: v1\n")
    pytester.makefile(".yaml", broken=TINY.replace("rate: 4/s", "rate: fast"))
    assert pytester.runpytest("--collect-only", "-q").ret == pytest.ExitCode.NO_TESTS_COLLECTED

    result = pytester.runpytest("--brownout", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*resilient.yaml::tiny-region-down*", "*broken.yaml*", "*load.arrival.rate*"])
    assert "notes.yaml" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED   # a collection error stops the session
    assert "broken.yaml:" in result.stdout.str()


@pytest.mark.slow
def test_slos_are_assertions_and_the_fixture_runs_an_experiment(pytester, isolated):
    experiments = pytester.mkdir("experiments")
    (experiments / "resilient.yaml").write_text(TINY.replace(PROFILE, "resilient"))
    (experiments / "fragile.yaml").write_text(TINY.replace(PROFILE, "fragile"))
    pytester.makepyfile(test_own=f'''
        from brownout.experiments.runner import RunStatus

        def test_a_project_test_can_run_an_experiment(brownout_run, tmp_path):
            outcome = brownout_run({str(REPO / "tests" / "reports" / "experiments" / "tiny-region-down.yaml")!r},
                                   env={{"BROWNOUT_SANDBOX_PROFILE": "fragile"}}, dry_run=True)
            assert outcome.status is RunStatus.DRY_RUN, outcome.message
            assert [r.fault for r in outcome.resolutions] == ["east-down"]
            assert outcome.out_dir == tmp_path / "brownout-tiny-region-down"
    ''')
    # Two workers: the two experiment items run side by side, as a project's CI would run them.
    result = pytester.runpytest_subprocess("--brownout", "--junitxml=junit.xml", "-p", "no:cacheprovider", "-n", "2",
                                           "experiments", "test_own.py", timeout=240)
    out = result.stdout.str()
    # The resilient file passes; on a saturated machine its latency objective may be inconclusive
    # instead (the item fails saying so, as `brownout run` exits 6), never failed on availability.
    resilient = json.loads((pytester.path / "reports" / "pytest" / "resilient" / "results.json").read_text())
    assert resilient["verdict"] in ("passed", "inconclusive"), out
    saturated = resilient["verdict"] == "inconclusive"
    result.assert_outcomes(passed=1 if saturated else 2, failed=2 if saturated else 1)
    if saturated:
        assert resilient["harness"]["saturated"] and "brownout verdict: inconclusive" in out, out
    result.stdout.fnmatch_lines([
        "*brownout verdict: failed (resilience score *",
        "*not met: slo 'available-during-fault' (fault): fail: actual *% vs threshold >= 90%*",
        "*report: */reports/pytest/fragile/report.html*",
    ])
    assert "FAILED experiments/fragile.yaml::tiny-region-down" in out

    cases = list(ET.parse(pytester.path / "junit.xml").iter("testcase"))
    verdicts = sorted({p.get("name"): p.get("value") for p in c.iter("property")}.get("brownout.verdict", "")
                      for c in cases)
    assert verdicts == ["", "failed", resilient["verdict"]]   # the fixture test has no properties of its own
