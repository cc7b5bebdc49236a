import pytest

from tests.e2e.conftest import journal_entries, processes_with_marker, run_brownout, wait_for

pytestmark = pytest.mark.slow


def test_dry_run_prints_targets_and_injects_nothing(brownout_env, tmp_path):
    proc = run_brownout(["run", "experiments/quickstart.yaml", "--dry-run", "--out", str(tmp_path / "out")], brownout_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fault 'kill-home-replica' (sandbox.replica-kill)" in proc.stdout
    assert "llm-us-east-0" in proc.stdout and "pid" in proc.stdout
    types = [e["type"] for e in journal_entries(tmp_path / "home")]
    assert "fault_intent" not in types and "fault_applied" not in types
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []
