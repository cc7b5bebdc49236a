"""The first game day end to end: the real `brownout run` on the real sandbox."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import assert_passed_or_harness_inconclusive, processes_with_marker, run_brownout, wait_for

pytestmark = pytest.mark.slow


def _run_quickstart(profile: str, env: dict, out) -> tuple[int, str, dict]:
    env = {**env, "BROWNOUT_SANDBOX_PROFILE": profile}
    proc = run_brownout(["run", "experiments/quickstart.yaml", "--out", str(out), "--quiet"], env, timeout=180)
    output = proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    return proc.returncode, output, results


def test_quickstart_passes_on_the_resilient_sandbox(brownout_env, tmp_path):
    code, output, results = _run_quickstart("resilient", brownout_env, tmp_path / "out")
    assert_passed_or_harness_inconclusive(code, output, results)
    assert (tmp_path / "out" / "report.html").is_file()
    fault = [f for f in results["timeline"]["faults"] if f["fault"] == "kill-home-replica"]
    assert fault and fault[0]["injected_at"] and fault[0]["rolled_back_at"]
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []


def test_quickstart_fails_on_the_fragile_sandbox_and_names_the_slo(brownout_env, tmp_path):
    code, output, results = _run_quickstart("fragile", brownout_env, tmp_path / "out")
    assert code == 1, output
    assert results["verdict"] == "failed"
    failed = {s["name"] for s in results["slos"] if s["status"] != "pass"}
    assert "available-during-fault" in failed
    assert "available-during-fault" in output
    recovery = results["recovery"]  # success is back at 100% after the replica returns: a finite time, never ∞
    assert recovery["status"] == "recovered" and 0 <= recovery["value"] < 15, recovery
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []
