"""Silent degradation end to end: availability holds while accuracy fails, on the sandbox (a bad rollout)
and through the stream proxy in front of an endpoint; the same run without the fault passes both.

The three shortened runs go side by side, each in its own subprocess and journal home.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.e2e.conftest import REPO, assert_passed_or_harness_inconclusive, processes_with_marker, wait_for
from tests.e2e.test_catalogue import run_side_by_side, shorten

SHORT = 14.0
GOLDEN = REPO / "probes" / "golden" / "sandbox.jsonl"
STREAM_FAULT = {"name": "bad-rollout", "kind": "stream.fault", "mode": "degrade", "degrade": "wrong_answer"}


def _variants(gateway_url: str) -> dict[str, dict]:
    document = shorten(yaml.safe_load((REPO / "experiments" / "silent-degradation.yaml").read_text()), SHORT)
    document["probes"] = [{**p, "path": str(GOLDEN)} for p in document["probes"]]
    document["load"]["dataset"] = {**document["load"]["dataset"], "path": str(GOLDEN)}
    document["target"]["sandbox"] = {**document["target"]["sandbox"], "regions": ["us-east"], "replicas_per_region": 1}
    [fault] = document["faults"]
    endpoint = {**document, "target": {"model": "sandbox-large", "endpoint": {"base_url": gateway_url}},
                "faults": [{**STREAM_FAULT, "schedule": fault["schedule"]}]}
    # The run without the fault goes to the attached sandbox too: one sandbox fewer to start on a busy machine.
    return {"sandbox": document, "endpoint": endpoint, "healthy": {**endpoint, "faults": []}}


@pytest.mark.slow
def test_fails_on_accuracy_and_passes_on_availability(attached_sandbox, brownout_env, tmp_path):
    runs = {}
    for name, document in _variants(attached_sandbox.gateway_url).items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        runs[name] = (path, {**brownout_env, "BROWNOUT_HOME": f"{brownout_env['BROWNOUT_HOME']}-{name}",
                             "BROWNOUT_ALLOW_PATHS": str(REPO)})  # the copies read probes/golden/ by absolute path

    def stagger(name: str, process: subprocess.Popen) -> None:
        if name == "sandbox":  # its sandbox up first: the stream proxy then starts on a quieter machine
            wait_for(lambda: (tmp_path / name / "probes.jsonl").exists() or process.poll() is not None, 30)

    done = {name: (run.code, run.output, run.results) for name, run in run_side_by_side(runs, tmp_path, stagger).items()}

    for name in ("sandbox", "endpoint"):
        code, output, results = done[name]
        slos = {s["name"]: s for s in results["slos"]}
        assert (code, results["verdict"]) == (1, "failed"), output
        assert slos["available-during-fault"]["status"] == "pass", output
        assert slos["available-during-fault"]["actual"] == 1.0
        assert slos["accurate-during-fault"]["status"] == "fail", output
        assert slos["accuracy-budget-during-fault"]["status"] == "fail", output
        fault = results["phases"]["fault"]
        assert fault["golden_answers"] > 0 and fault["wrong_answers"] > 0 and fault["accuracy"] < 0.95
        assert fault["checked_requests"] > 0 and fault["degraded"] > 0   # judged load requests: wrong ones degraded
        assert results["phases"]["baseline"]["accuracy"] == 1.0
        assert "not met: slo 'accurate-during-fault'" in output
        assert "answers were wrong" in output, output
        wrong = [p for p in results["probe_series"] if p["correct"] is False]
        assert wrong and all(p["item"] and "wrong answer" in p["reason"] for p in wrong)
        report = (tmp_path / name / "report.html").read_text()
        assert "<h2>Accuracy</h2>" in report and "silent degradation" in report
        summary = (tmp_path / name / "summary.md").read_text()
        assert "**Wrong answers:**" in summary and "succeeded: silent degradation" in summary

    code, output, results = done["healthy"]
    assert_passed_or_harness_inconclusive(code, output, results)
    run = results["phases"]["run"]
    assert run["accuracy"] == 1.0 and run["golden_answers"] > 5 and run["checked_requests"] > 5 and run["degraded"] == 0

    wait_for(lambda: not processes_with_marker(brownout_env["BROWNOUT_TEST_MARKER"]), 10)
    assert processes_with_marker(brownout_env["BROWNOUT_TEST_MARKER"]) == []
