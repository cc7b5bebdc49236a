"""The upstream-A-down verdicts with both cores held at 100% by busy loops.

A saturated machine may make latency figures untrustworthy (verdict `inconclusive`), but never
turns a gateway that failed over into a `failed` one, nor hides the fragile gateway's errors:
availability is counted whatever the harness's health.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from brownout.processes import pdeathsig
from tests.e2e.nginx import specs
from tests.e2e.nginx.checks import assert_rolled_back, assert_successes_were_served
from tests.e2e.nginx.runs import Runner
from tests.e2e.nginx.scenarios import a_down
from tests.e2e.nginx.stack import Stack, children

pytestmark = pytest.mark.slow

BUSY_LOOPS = 2


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def busy_cores() -> Iterator[list[subprocess.Popen]]:
    """`timeout 300 sh -c 'while :; do :; done'`, twice; stopped by pid when the test ends, however it ends."""
    loops = [
        subprocess.Popen(["timeout", "300", "sh", "-c", "while :; do :; done"], stdin=subprocess.DEVNULL,
                         preexec_fn=pdeathsig)  # noqa: PLW1509 - one prctl, no locks
        for _ in range(BUSY_LOOPS)
    ]
    try:
        yield loops
    finally:
        for loop in loops:
            if loop.poll() is None:
                loop.send_signal(signal.SIGTERM)  # timeout passes it on to its sh
        for loop in loops:
            try:
                loop.wait(timeout=5)
            except subprocess.TimeoutExpired:
                loop.kill()
                loop.wait(timeout=5)


def spinning(loops: list[subprocess.Popen], within: float = 10.0) -> list[int]:
    """The pids of the shells that spin (children of each timeout).

    `timeout` forks its shell after it starts: on a busy machine a look straight after Popen can
    find a timeout without its child yet (CI saw one of two), so wait for each, bounded.
    """
    deadline = time.monotonic() + within
    while True:
        shells = [children(loop.pid) for loop in loops]
        if all(shells) or time.monotonic() > deadline:
            return [pid for found in shells for pid in found]
        time.sleep(0.05)


def test_verdicts_hold_with_both_cores_busy(runs: Runner, stack: Stack, busy_cores: list[subprocess.Popen]):
    shells = spinning(busy_cores)
    assert len(shells) == BUSY_LOOPS
    spent = {pid: cpu_seconds(pid) for pid in shells}
    resilient = a_down(runs, stack, "resilient", served_by=specs.HEADER_SERVED_BY)
    fragile = a_down(runs, stack, "fragile", served_by=specs.HEADER_SERVED_BY)
    # The loops really held the cores: each spun for a good share of the runs' time.
    for pid, before in spent.items():
        assert cpu_seconds(pid) - before > 5, "a busy loop hardly ran"

    assert resilient.verdict in ("passed", "inconclusive"), resilient.explain()
    assert resilient.slo("available-during-fault")["status"] == "pass", resilient.explain()
    assert_rolled_back(resilient, "upstream-a-down")
    assert_successes_were_served(resilient)

    assert fragile.verdict == "failed", fragile.explain()
    slo = fragile.slo("available-during-fault")
    assert slo["status"] == "fail" and slo["actual"] < 0.9, fragile.explain()
    assert_rolled_back(fragile, "upstream-a-down")
    assert_successes_were_served(fragile)
