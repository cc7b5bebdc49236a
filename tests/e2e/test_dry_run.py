import pytest

from tests.e2e.conftest import journal_entries, processes_with_marker, run_brownout, wait_for

pytestmark = pytest.mark.slow


def test_dry_run_prints_targets_and_injects_nothing(brownout_env, tmp_path):
    proc = run_brownout(["run", "experiments/quickstart.yaml", "--dry-run", "--out", str(tmp_path / "out")], brownout_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fault 'kill-home-replica' (sandbox.replica-kill)" in proc.stdout
    assert "llm-us-east-0" in proc.stdout and "pid" in proc.stdout and "{" not in proc.stdout   # words, no dict reprs
    # the timeline: every phase with its times, the fault's planned window, probes, SLOs, the total
    for line in ("  baseline       3s to 15s     (12s)", "  fault         15s to 35s     (20s)",
                 "  fault 'kill-home-replica' (sandbox.replica-kill): in at 17s, out at 27s (10s)",
                 "  probe 'canary' (chat): every 2s, timeout 5s",
                 "  SLO 'available-during-fault' [fault, critical]: success_rate >= 95%",
                 "  total: 50s of load, then up to 5s of drain"):
        assert line in proc.stdout.splitlines(), proc.stdout
    assert not (tmp_path / "out").exists(), "a dry run leaves no run folder behind"
    types = [e["type"] for e in journal_entries(tmp_path / "home")]
    assert "fault_intent" not in types and "fault_applied" not in types
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []
