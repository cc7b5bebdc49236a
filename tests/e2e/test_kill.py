"""Guaranteed rollback: kill a real `brownout run` while a fault is applied.

The fault is a GPU-memory shrink on a sandbox that the test starts itself
(detached, like `brownout sandbox up`), so the fault's effect outlives the run
and the test can see whether it was undone.
"""

from __future__ import annotations

import signal
import textwrap

import httpx
import pytest

from tests.e2e.conftest import (
    REPO,
    journal_entries,
    popen_brownout,
    processes_with_marker,
    run_brownout,
    wait_for,
)

pytestmark = pytest.mark.slow

TINY = REPO / "tests" / "reports" / "experiments" / "tiny-region-down.yaml"


def _experiment(tmp_path, control_url: str) -> str:
    path = tmp_path / "long-oom.yaml"
    path.write_text(textwrap.dedent(f"""
        apiVersion: brownout/v1
        kind: Experiment
        metadata: {{name: long-oom}}
        target:
          sandbox: {{attach: "{control_url}"}}
        load:
          arrival: {{kind: constant, rate: 2/s}}
          dataset: {{kind: synthetic, output_tokens: {{mean: 8}}}}
          timeout: 5s
        phases: {{warmup: 0s, baseline: 2s, fault: 120s, recovery: 2s}}
        faults:
          - name: shrink-gpu
            kind: sandbox.gpu-oom
            select: {{mode: one}}
            gpu_memory: 64MiB
    """))
    return str(path)


def _shrunk(control_url: str) -> list[str]:
    state = httpx.get(f"{control_url}/sandbox/state", timeout=5).json()
    return [c["name"] for c in state["components"] if c["role"] == "replica" and c["gpu_memory"] < c["gpu_memory_total"]]


def _start_and_wait_for_fault(tmp_path, env, control_url):
    proc = popen_brownout(["run", _experiment(tmp_path, control_url), "--out", str(tmp_path / "out")], env)
    home = tmp_path / "home"
    applied = wait_for(lambda: any(e["type"] == "fault_applied" for e in journal_entries(home)), 60)
    if not applied:
        proc.kill()
        pytest.fail(f"fault never applied:\n{proc.communicate()[0]}")
    assert _shrunk(control_url), "the fault should be visible on the sandbox"
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_rolls_back_and_leaves_nothing_running(sig, attached_sandbox, brownout_env, tmp_path):
    control = attached_sandbox.control_url
    proc = _start_and_wait_for_fault(tmp_path, brownout_env, control)
    proc.send_signal(sig)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 128 + sig, output
    assert _shrunk(control) == []
    types = [e["type"] for e in journal_entries(tmp_path / "home")]
    assert "fault_undone" in types and types[-1] == "run_finished"
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []


def test_sigkill_then_recover_undoes_the_fault(attached_sandbox, brownout_env, tmp_path):
    control = attached_sandbox.control_url
    proc = _start_and_wait_for_fault(tmp_path, brownout_env, control)
    proc.kill()
    proc.communicate(timeout=30)
    # the load generator dies with its parent; the fault is still applied
    assert wait_for(lambda: not processes_with_marker(str(tmp_path)), 15), processes_with_marker(str(tmp_path))
    assert _shrunk(control)
    recovered = run_brownout(["recover"], brownout_env, timeout=60)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "shrink-gpu" in recovered.stdout and "undone" in recovered.stdout
    assert _shrunk(control) == []
    again = run_brownout(["recover"], brownout_env, timeout=60)
    assert "nothing to recover" in again.stdout


def test_sigkill_of_a_run_that_owns_its_sandbox_leaves_no_process(brownout_env, tmp_path):
    proc = popen_brownout(["run", str(TINY), "--out", str(tmp_path / "out")], brownout_env)   # its fault comes at 6 s
    started = wait_for(lambda: any(e["type"] == "fault_applied" for e in journal_entries(tmp_path / "home")), 90)
    assert started, "the run never reached its fault"
    assert len(processes_with_marker(str(tmp_path))) >= 5  # runner, load, supervisor and its components
    proc.kill()
    proc.communicate(timeout=30)
    assert wait_for(lambda: not processes_with_marker(str(tmp_path)), 20), processes_with_marker(str(tmp_path))
    recovered = run_brownout(["recover"], brownout_env, timeout=60)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "east-down" in recovered.stdout
