"""Silent degradation end to end: availability holds while accuracy fails, on the sandbox (a bad rollout)
and through the stream proxy in front of an endpoint; the same run without the fault passes both.

The three shortened runs go side by side, each in its own subprocess and journal home.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import REPO, assert_passed_or_harness_inconclusive, processes_with_marker, wait_for
from tests.e2e.test_catalogue import RUN_TIMEOUT, shorten

SHORT = 14.0
GOLDEN = REPO / "probes" / "golden" / "sandbox.jsonl"
STREAM_FAULT = {"name": "bad-rollout", "kind": "stream.fault", "mode": "degrade", "degrade": "wrong_answer"}


def _variants(gateway_url: str) -> dict[str, dict]:
    document = shorten(yaml.safe_load((REPO / "experiments" / "silent-degradation.yaml").read_text()), SHORT)
    document["probes"] = [{**p, "path": str(GOLDEN)} for p in document["probes"]]
    document["target"]["sandbox"] = {**document["target"]["sandbox"], "regions": ["us-east"]}
    [fault] = document["faults"]
    endpoint = {**document, "target": {"model": "sandbox-large", "endpoint": {"base_url": gateway_url}},
                "faults": [{**STREAM_FAULT, "schedule": fault["schedule"]}]}
    return {"sandbox": document, "endpoint": endpoint, "healthy": {**document, "faults": []}}


@pytest.mark.slow
def test_fails_on_accuracy_and_passes_on_availability(attached_sandbox, brownout_env, tmp_path):
    procs = {}
    for name, document in _variants(attached_sandbox.gateway_url).items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        env = {**brownout_env, "BROWNOUT_HOME": f"{brownout_env['BROWNOUT_HOME']}-{name}"}
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "brownout", "run", str(path), "--quiet", "--out", str(tmp_path / name)],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
    runs = {}
    try:
        for name, proc in procs.items():
            output, _ = proc.communicate(timeout=RUN_TIMEOUT)
            results_file = tmp_path / name / "results.json"
            assert results_file.is_file(), f"{name}: no results.json (exit {proc.returncode})\n{output}"
            runs[name] = (proc.returncode, output, json.loads(results_file.read_text()))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    for name in ("sandbox", "endpoint"):
        code, output, results = runs[name]
        slos = {s["name"]: s for s in results["slos"]}
        assert (code, results["verdict"]) == (1, "failed"), output
        assert slos["available-during-fault"]["status"] == "pass", output
        assert slos["available-during-fault"]["actual"] == 1.0
        assert slos["accurate-during-fault"]["status"] == "fail", output
        assert slos["accuracy-budget-during-fault"]["status"] == "fail", output
        fault = results["phases"]["fault"]
        assert fault["golden_answers"] > 0 and fault["wrong_answers"] > 0 and fault["accuracy"] < 0.95
        assert results["phases"]["baseline"]["accuracy"] == 1.0
        assert "not met: slo 'accurate-during-fault'" in output
        assert "answers were wrong" in output, output
        wrong = [p for p in results["probe_series"] if p["correct"] is False]
        assert wrong and all(p["item"] and "wrong answer" in p["reason"] for p in wrong)
        report = (tmp_path / name / "report.html").read_text()
        assert "silent degradation" in report.lower()

    code, output, results = runs["healthy"]
    assert_passed_or_harness_inconclusive(code, output, results)
    assert results["phases"]["run"]["accuracy"] == 1.0 and results["phases"]["run"]["golden_answers"] > 5

    wait_for(lambda: not processes_with_marker(brownout_env["BROWNOUT_TEST_MARKER"]), 10)
    assert processes_with_marker(brownout_env["BROWNOUT_TEST_MARKER"]) == []
