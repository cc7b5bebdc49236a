"""Nothing left behind, whatever the moment: kills inside a child's spawn window, and the harness's own deaths.

Spawn windows are hit deliberately with the `BROWNOUT_TEST_HOLD` hook (brownout.processes):
the named child pauses before it ties itself to its parent and before it is ready, the
test kills the run there, and either releases the child (it must notice its parent is
gone and exit) or leaves it held (then `brownout recover` must find and stop it).
"""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

import pytest

from brownout.experiments.journal import stale_journals
from tests.e2e.conftest import journal_entries, popen_brownout, processes_with_marker, run_brownout, wait_for
from tests.support.sandboxes import detached_sandbox

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_sandbox(tmp_path_factory):
    with detached_sandbox(tmp_path_factory.mktemp("sb"), regions=["us-east"], replicas_per_region=1) as handle:
        yield handle


def _write(tmp_path: Path, name: str, target: str, faults: str = "[]", fault_phase: str = "2s") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""\
        apiVersion: brownout/v1
        kind: Experiment
        metadata: {{name: {name}}}
        target: {{{target}}}
        load:
          arrival: {{kind: constant, rate: 4/s}}
          dataset: {{kind: synthetic, output_tokens: {{mean: 4}}}}
          timeout: 5s
          drain: 1s
        phases: {{warmup: 0s, baseline: 3s, fault: {fault_phase}, recovery: 1s}}
        faults: {faults}
    """))
    return str(path)


def _held(hold: Path, name: str) -> list[int]:
    return [int(p.name.split(".")[1]) for p in hold.glob(f"{name}.*.held")]


def _hold_env(env: dict, hold: Path, *names: str) -> dict:
    hold.mkdir()
    return {**env, "BROWNOUT_TEST_HOLD": f"{','.join(names)}@{hold}"}


def _journaled_pids(home: Path, name: str) -> list[int]:
    return [p for e in journal_entries(home) if e["type"] == "process_started" and e["name"] == name for p in e["pids"]]


def _kill_when_held(proc, hold: Path, name: str) -> int:
    held = wait_for(lambda: _held(hold, name) or proc.poll() is not None, 60)
    held = _held(hold, name)
    if not held:
        proc.kill()
        pytest.fail(f"{name} never reached its hold:\n{proc.communicate()[0]}")
    proc.kill()
    proc.communicate(timeout=30)
    return held[0]


def test_sandbox_held_in_its_spawn_window_is_found_and_stopped_by_recover(brownout_env, tmp_path):
    """SIGKILL while the run's own sandbox starts: a supervisor that has not tied itself to its parent
    yet survives the kill; `recover` stops it and says so (not "already gone")."""
    hold = tmp_path / "hold"
    env = _hold_env(brownout_env, hold, "supervisor")
    target = "sandbox: {regions: [solo], replicas_per_region: 1}"
    proc = popen_brownout(["run", _write(tmp_path, "spawn-sandbox", target), "--out", str(tmp_path / "out")], env)
    supervisor = _kill_when_held(proc, hold, "supervisor")
    assert _journaled_pids(tmp_path / "home", "sandbox") == [supervisor], "journaled the moment it exists"
    assert processes_with_marker(str(tmp_path)) == [supervisor]
    recovered = run_brownout(["recover"], brownout_env, timeout=60)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert f"sandbox stopped (pids [{supervisor}])" in recovered.stdout, recovered.stdout
    assert wait_for(lambda: not processes_with_marker(str(tmp_path)), 10), processes_with_marker(str(tmp_path))
    assert stale_journals(tmp_path / "home") == []  # a second recover finds nothing


STREAM_FAULT = "[{name: cut-some, kind: stream.fault, mode: cut, share: 0.2, after_tokens: 2, schedule: {start: 0s, duration: 10s}}]"


def test_a_dead_stream_proxy_is_a_harness_error_not_the_targets_failure(shared_sandbox, brownout_env, tmp_path):
    """The run's own stream proxy dies with its fault applied: exit 5 with a line naming it, the fault is
    closed as moot (its proxy is gone) instead of retried, the run is not scored, nothing stays."""
    target = f'sandbox: {{attach: "{shared_sandbox.control_url}"}}'
    experiment = _write(tmp_path, "dead-proxy", target, STREAM_FAULT, fault_phase="12s")
    proc = popen_brownout(["run", experiment, "--out", str(tmp_path / "out")], brownout_env)
    home = tmp_path / "home"
    applied = lambda: any(e["type"] == "fault_applied" for e in journal_entries(home))  # noqa: E731
    if not wait_for(lambda: applied() or proc.poll() is not None, 60) or not applied():
        proc.kill()
        pytest.fail(f"the fault never applied:\n{proc.communicate()[0]}")
    pid = _journaled_pids(home, "stream-proxy")[0]
    os.kill(pid, signal.SIGKILL)
    output = proc.communicate(timeout=90)[0]
    assert proc.returncode == 5, output
    assert f"HarnessError: harness failure during fault: the stream proxy (pid {pid}) died" in output, output
    assert "verdict: error" in output and "resilience score: —" in output
    types = [e["type"] for e in journal_entries(home)]
    assert types.count("fault_undone") == 1 and "fault_undo_failed" not in types  # closed at once, no retries
    assert journal_entries(home)[-1]["type"] == "run_finished"
    assert stale_journals(home) == []
    assert wait_for(lambda: not processes_with_marker(str(tmp_path)), 15), processes_with_marker(str(tmp_path))
