"""The first game day end to end: the real `brownout run` on the real sandbox, as the README's
Quick start runs it. Both profiles run side by side (own journal homes and outputs), so the
pair costs one run of wall time."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import assert_passed_or_harness_inconclusive, popen_brownout, processes_with_marker, wait_for

pytestmark = pytest.mark.slow


def test_quickstart_passes_on_the_resilient_sandbox_and_fails_on_the_fragile_one_naming_the_slo(brownout_env, tmp_path):
    procs = {}
    for profile in ("resilient", "fragile"):
        env = {**brownout_env, "BROWNOUT_SANDBOX_PROFILE": profile, "BROWNOUT_HOME": f"{brownout_env['BROWNOUT_HOME']}-{profile}"}
        procs[profile] = popen_brownout(["run", "experiments/quickstart.yaml", "--out", str(tmp_path / profile), "--quiet"], env)
    runs = {}
    try:
        for profile, proc in procs.items():
            output, _ = proc.communicate(timeout=180)
            runs[profile] = (proc.returncode, output, json.loads((tmp_path / profile / "results.json").read_text()))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    code, output, results = runs["resilient"]
    assert_passed_or_harness_inconclusive(code, output, results)
    assert (tmp_path / "resilient" / "report.html").is_file()
    fault = [f for f in results["timeline"]["faults"] if f["fault"] == "kill-home-replica"]
    assert fault and fault[0]["injected_at"] and fault[0]["rolled_back_at"]

    code, output, results = runs["fragile"]
    assert code == 1, output
    assert results["verdict"] == "failed"
    failed = {s["name"] for s in results["slos"] if s["status"] != "pass"}
    assert "available-during-fault" in failed
    assert "available-during-fault" in output
    recovery = results["recovery"]  # success is back at 100% after the replica returns: a finite time, never ∞
    assert recovery["status"] == "recovered" and 0 <= recovery["value"] < 15, recovery

    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []
