"""`brownout gate` and `brownout report`: judging and re-rendering saved results."""

import subprocess
import sys

import pytest

from brownout.errors import SpecError
from brownout.reports import write_all, write_json
from brownout.reports.gate import judge, read_results
from tests.reports.test_outputs import saturated_run, scenario


def passing(results, score=90.0):
    def ok(items):
        return [r.model_copy(update={"passed": True, "status": "pass"}) for r in items]

    return results.model_copy(update={"slos": ok(results.slos), "steady_state": ok(results.steady_state),
                                      "steady_state_held": True, "verdict": "passed", "exit_code": 0, "score": score})


@pytest.fixture(scope="module")
def failed():
    return scenario()


def test_a_failed_run_fails_the_gate_with_its_unmet_slos(failed):
    verdict = judge(failed)
    assert not verdict.passed and verdict.exit_code == 1
    assert any("'availability'" in r or "'rto'" in r for r in verdict.reasons)


def test_a_passing_run_passes_alone_and_against_a_similar_baseline(failed):
    good = passing(failed, 90.0)
    assert judge(good).passed
    assert judge(good, passing(failed, 92.0), max_score_drop=5).passed


def test_a_score_drop_beyond_the_allowance_is_a_regression(failed):
    verdict = judge(passing(failed, 80.0), passing(failed, 92.0), max_score_drop=5)
    assert not verdict.passed and verdict.exit_code == 1
    assert verdict.reasons == ["regression: resilience score fell 12.0 points (92.0 -> 80.0), more than the 5 allowed"]


def test_an_slo_the_baseline_met_and_the_release_fails_is_named(failed):
    verdict = judge(failed, passing(failed))
    assert any(r.startswith("regression: SLO") for r in verdict.reasons)


@pytest.mark.parametrize("verdict, run_code", [("aborted", 3), ("interrupted", 143)])
def test_results_of_an_unfinished_run_have_no_score_to_gate_exit_7(failed, verdict, run_code):
    unfinished = failed.model_copy(update={"verdict": verdict, "exit_code": run_code})
    judged = judge(unfinished)
    assert judged.exit_code == 7 and judged.reasons[0] == f"the run did not complete: {verdict}"
    assert judged.headline.startswith("gate: unscored (")


def test_read_results_refuses_other_files_with_a_located_error(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text('{"schema_version": "something/else"}')
    with pytest.raises(SpecError, match="not a brownout results file") as info:
        read_results(bad)
    assert info.value.file == str(bad)
    with pytest.raises(SpecError, match="cannot read results"):
        read_results(tmp_path / "missing.json")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "brownout", *args], capture_output=True, text=True, timeout=120)


def test_gate_command_exit_codes(failed, tmp_path):
    current, baseline = tmp_path / "current.json", tmp_path / "baseline.json"
    write_json(passing(failed, 80.0), current)
    write_json(passing(failed, 92.0), baseline)
    assert _cli("gate", str(current)).returncode == 0
    proc = _cli("gate", str(current), "--baseline", str(baseline), "--max-score-drop", "5")
    assert proc.returncode == 1 and "resilience score fell 12.0 points" in proc.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    proc = _cli("gate", str(broken))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_gate_refuses_a_baseline_of_another_experiment_and_a_drop_without_a_baseline(failed, tmp_path):
    current, other = tmp_path / "current.json", tmp_path / "other.json"
    write_json(passing(failed, 80.0), current)
    write_json(passing(failed, 92.0).model_copy(update={"experiment": "another-drill"}), other)
    proc = _cli("gate", str(current), "--baseline", str(other))
    assert proc.returncode == 2
    assert "'another-drill'" in proc.stderr and "'region-drill'" in proc.stderr and "--allow-other-experiment" in proc.stderr
    proc = _cli("gate", str(current), "--baseline", str(other), "--allow-other-experiment", "--max-score-drop", "5")
    assert proc.returncode == 1 and "resilience score fell 12.0 points" in proc.stdout
    for bad in (["--max-score-drop", "5"], ["--baseline", str(current), "--max-score-drop=-1"]):
        proc = _cli("gate", str(current), *bad)
        assert proc.returncode == 2 and "--max-score-drop needs --baseline" in proc.stderr, (bad, proc.stderr)


def test_report_command_re_renders_identically(failed, tmp_path):
    first = write_all(failed, tmp_path / "first")
    proc = _cli("report", str(first["json"]), "--out", str(tmp_path / "again"))
    assert proc.returncode == 0, proc.stderr
    for kind in ("html", "junit", "markdown"):
        assert (tmp_path / "again" / first[kind].name).read_text() == first[kind].read_text().replace(
            str(tmp_path / "first"), str(tmp_path / "again"))


def test_an_inconclusive_run_keeps_exit_6_and_its_harness_objectives_are_no_regression(failed):
    busy = saturated_run()
    verdict = judge(busy)
    assert not verdict.passed and verdict.exit_code == 6
    assert verdict.reasons[0].startswith("inconclusive: the load generator was saturated")
    assert verdict.reasons[1].startswith("slo 'ttft' (fault) inconclusive: the load generator was saturated")
    assert verdict.headline == "gate: inconclusive (busy, verdict inconclusive, score —)"
    against = judge(busy, passing(busy, 95.0), max_score_drop=5)     # ttft passed in the baseline
    assert against.exit_code == 6 and not any(r.startswith("regression") for r in against.reasons)


def test_the_gate_headline_prints_a_dash_for_an_unscored_run_and_ignores_a_stale_score(failed):
    assert judge(passing(failed, 87.25)).headline == "gate: passed (region-drill, verdict passed, score 87.2)"
    stale = failed.model_copy(update={"verdict": "aborted", "exit_code": 3, "score": 99.0})   # an older file
    assert judge(stale).headline == "gate: unscored (region-drill, verdict aborted, score —)"
    assert judge(passing(failed, 80.0), stale, max_score_drop=5).passed     # no score to fall from
