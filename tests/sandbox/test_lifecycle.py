"""Starting, finding and stopping sandboxes leaves no process behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from brownout.errors import SandboxError
from brownout.processes import pid_alive
from brownout.sandbox import (
    SandboxConfig,
    find_running,
    start_sandbox,
    stop_from_state_file,
)

SMALL = SandboxConfig(regions=("solo",), replicas_per_region=1, cold_start=0.5)


def _pids(state: dict) -> list[int]:
    return [state["supervisor_pid"]] + [c["pid"] for c in state["components"]]


def _wait_dead(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if pid_alive(p)]


def test_detached_sandbox_is_found_and_stopped_from_its_state_file(tmp_path: Path) -> None:
    handle = start_sandbox(SMALL, tmp_path, detach=True)
    pids = _pids(handle.state())
    try:
        assert len(pids) == 5 and all(pid_alive(p) for p in pids)
        assert os.getsid(handle.supervisor_pid) == handle.supervisor_pid  # its own session: survives the caller
        found = find_running(tmp_path)
        assert found is not None and found.supervisor_pid == handle.supervisor_pid
        assert found.gateway_url == handle.gateway_url
        with pytest.raises(SandboxError, match="already running"):
            start_sandbox(SMALL, tmp_path)
        assert {p.name for p in tmp_path.iterdir()} >= {"supervisor.log", "gateway.log", "llm-solo-0.log", "sandbox.json"}
        assert sorted(stop_from_state_file(tmp_path)) == sorted(pids)  # says which were running
    finally:
        handle.stop()
    assert _wait_dead(pids, 5) == []
    assert find_running(tmp_path) is None
    assert stop_from_state_file(tmp_path) == []


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    handle = start_sandbox(SMALL, tmp_path)
    pids = _pids(handle.state())
    try:
        os.kill(handle.supervisor_pid, signal.SIGKILL)
        assert _wait_dead(pids[1:], 5) == []
    finally:
        handle.stop()


def _processes_with(marker: str) -> list[int]:
    """Pids whose command line contains `marker` (the config JSON is on every component's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_start_timeout_names_the_late_components_and_leaves_nothing(tmp_path: Path) -> None:
    config = SandboxConfig(regions=("solo",), replicas_per_region=1, seed=918273645)
    with pytest.raises(SandboxError, match="not ready after") as caught:
        start_sandbox(config, tmp_path, timeout=0.3)
    assert "--- supervisor.log ---" in str(caught.value) or "--- gateway.log ---" in str(caught.value)
    deadline = time.monotonic() + 5
    while _processes_with('"seed": 918273645') and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with('"seed": 918273645') == []


def test_a_sandbox_started_with_sigterm_blocked_still_stops_gracefully(tmp_path: Path) -> None:
    """A harness that holds SIGTERM while it spawns the sandbox (its children inherit the
    mask) must still get a clean stop: every component handles SIGTERM and says so."""
    blocked = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        handle = start_sandbox(SMALL, tmp_path)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    pids = _pids(handle.state())
    try:
        for pid in pids:
            mask = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigBlk:"))
            assert not int(mask.split()[1], 16) & (1 << (signal.SIGTERM - 1)), f"pid {pid} blocks SIGTERM"
        started = time.monotonic()
        handle.stop(timeout=10)
        assert time.monotonic() - started < 8
    finally:
        if any(pid_alive(p) for p in pids):
            handle.stop()
    assert _wait_dead(pids, 2) == []
    assert "all components stopped" in (tmp_path / "supervisor.log").read_text()
