"""The harness watch (brownout.experiments.harness) against real processes: dead, stopped, hung, fine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from brownout.errors import HarnessError
from brownout.experiments.harness import STALE_AFTER, Helper, check_harness


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_live_helper_passes_and_a_dead_one_is_named(sleeper):
    check_harness([Helper("stream proxy", sleeper.pid)], None, now=1.0, phase="fault")
    sleeper.kill()
    sleeper.wait()
    with pytest.raises(HarnessError, match=rf"during fault: the stream proxy \(pid {sleeper.pid}\) died"):
        check_harness([Helper("stream proxy", sleeper.pid)], None, now=1.0, phase="fault")


def test_the_load_may_end_by_itself_only_after_its_schedule(sleeper):
    sleeper.kill()
    sleeper.wait()
    load = Helper("load process", sleeper.pid, may_exit_after=10.0)
    with pytest.raises(HarnessError, match="the load process"):
        check_harness([load], None, now=9.0, phase="recovery")
    check_harness([load], None, now=10.0, phase="recovery")


def test_a_stopped_or_silent_helper_is_named(sleeper, tmp_path):
    status = tmp_path / "status.json"
    status.write_text("{}")
    helper = Helper("load process", sleeper.pid, status)
    check_harness([helper], True, now=1.0, phase="baseline")
    old = time.time() - STALE_AFTER - 5
    os.utime(status, (old, old))
    with pytest.raises(HarnessError, match=r"stopped answering: no status for \d+s"):
        check_harness([helper], True, now=1.0, phase="baseline")
    os.kill(sleeper.pid, signal.SIGSTOP)
    try:
        assert _wait_state(sleeper.pid, "T")
        with pytest.raises(HarnessError, match=r"is stopped \(SIGSTOP\)"):
            check_harness([Helper("embedded Toxiproxy", sleeper.pid)], None, now=1.0, phase="fault")
    finally:
        os.kill(sleeper.pid, signal.SIGCONT)


def test_a_probe_loop_that_stopped_is_named():
    with pytest.raises(HarnessError, match="the probe loop stopped"):
        check_harness([], False, now=1.0, phase="warmup")
    check_harness([], None, now=1.0, phase="warmup")  # no probes: nothing to watch


def _wait_state(pid: int, state: str, timeout: float = 5.0) -> bool:
    from brownout.processes import process_state

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_state(pid) == state:
            return True
        time.sleep(0.02)
    return False
