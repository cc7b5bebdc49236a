"""Helpers for end-to-end tests that run the real `brownout` command in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brownout.sandbox import SandboxConfig, start_sandbox

REPO = Path(__file__).resolve().parents[2]


def processes_with_marker(marker: str) -> list[int]:
    """Pids whose environment carries `marker`: everything a brownout subprocess started, however deep."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            blob = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"BROWNOUT_TEST_MARKER={marker}".encode() in blob:
            found.append(int(entry.name))
    return found


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def journal_entries(home: Path) -> list[dict]:
    entries = []
    for path in sorted(home.glob("runs/*/journal.jsonl")):
        for line in path.read_text().splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return entries


@pytest.fixture
def brownout_env(tmp_path):
    """Environment for a brownout subprocess with its own journal home."""
    env = dict(os.environ)
    env["BROWNOUT_HOME"] = str(tmp_path / "home")
    env["BROWNOUT_TEST_MARKER"] = str(tmp_path)
    env.pop("GITHUB_STEP_SUMMARY", None)
    yield env
    for pid in processes_with_marker(str(tmp_path)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def attached_sandbox(tmp_path):
    """A sandbox started apart from the run (like `brownout sandbox up`): faults on it outlive the run,
    so a test can see whether they were undone."""
    handle = start_sandbox(SandboxConfig(regions=["us-east"], replicas_per_region=2, cold_start=1.0), tmp_path / "sb", detach=True)
    try:
        yield handle
    finally:
        handle.stop()


def run_brownout(args: list[str], env: dict, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "brownout", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def popen_brownout(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "brownout", *args], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def assert_passed_or_harness_inconclusive(code: int, output: str, results: dict) -> None:
    """What a resilient run must show: `passed`; on a saturated machine its latency objectives may be
    inconclusive instead (verdict `inconclusive`, exit 6, the self-check says why) — never `failed`."""
    if results["verdict"] == "inconclusive":
        assert code == 6 and results["harness"]["saturated"] and results["harness"]["reasons"], output
        unmet = [r for r in results["slos"] + results["steady_state"] if not r["passed"]]
        assert unmet and all(r["status"] == "inconclusive" for r in unmet), unmet
        assert "harness self-check:" in output
    else:
        assert (code, results["verdict"]) == (0, "passed"), output
        assert "verdict: passed" in output
