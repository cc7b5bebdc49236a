"""`gpu.memory-hog` with a local hog process: real allocations (host backend, no GPU here), real signals."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from brownout.errors import InjectError, RefusedError
from brownout.spec.faults import Fault, GpuMemoryHog
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.gpu import GpuMemoryHogDriver
from brownout.faults.registry import DRIVERS
from brownout.processes import pid_alive, terminate

MiB = 2**20
HOG = 96 * MiB
NO_GPU_STACK = importlib.util.find_spec("torch") is None and importlib.util.find_spec("cupy") is None


def hog_spec(**extra: object) -> GpuMemoryHog:
    raw = {"kind": "gpu.memory-hog", "name": "hog", "amount": "96MiB", "backend": "host", "max_lifetime": "2m", **extra}
    return TypeAdapter(Fault).validate_python(raw)  # type: ignore[return-value]


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        line = next(l for l in fh if l.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


@pytest.fixture
def handles() -> Iterator[list[FaultHandle]]:
    """Handles the test created; every one is rolled back at teardown whatever happened."""
    made: list[FaultHandle] = []
    try:
        yield made
    finally:
        for handle in made:
            GpuMemoryHogDriver.rollback(handle)


def test_registered_and_spec_rules() -> None:
    assert DRIVERS["gpu.memory-hog"] is GpuMemoryHogDriver
    assert hog_spec().amount == HOG
    assert hog_spec(amount=None, fraction=0.25).fraction == 0.25
    bad = [
        ({"fraction": 0.5}, "exactly one of 'amount' or 'fraction'"),
        ({"namespace": "ml"}, "only apply to placement 'kubernetes'"),
        ({"placement": "kubernetes"}, "needs namespace"),
        ({"placement": "kubernetes", "namespace": "ml"}, "exactly one of 'pod' or 'label_selector'"),
        ({"max_lifetime": "10s", "schedule": {"duration": "30s"}}, "max_lifetime is shorter"),
        ({"device": "gpu0"}, "pattern"),
    ]
    for extra, message in bad:
        with pytest.raises(ValidationError, match=message):
            hog_spec(**extra)


def test_inject_holds_memory_and_rollback_frees_it(handles: list[FaultHandle]) -> None:
    driver = GpuMemoryHogDriver(hog_spec(), FaultContext())
    resolution = driver.resolve()
    assert resolution.targets[0].detail["backend"] == "host"
    assert "hold 96MiB of cuda:0 (host)" in resolution.action
    handle = FaultHandle.from_dict(json.loads(json.dumps(driver.prepare().to_dict())))  # survives the journal
    handles.append(handle)
    detail = driver.inject(handle)
    (state,) = detail["hogs"]
    assert state["ready"] and state["bytes"] == HOG and state["backend"] == "host"
    pid = state["pid"]
    held = rss(pid)
    assert HOG <= held <= HOG + 80 * MiB, f"RSS {held / MiB:.0f} MiB for a {HOG / MiB:.0f} MiB hog"
    assert Path(handle.data["state_file"]).exists()

    undone = GpuMemoryHogDriver.rollback(handle)
    assert undone["hogs"][0]["stopped"] is True
    assert wait_gone(pid, 5)
    assert not Path(handle.data["state_file"]).exists()
    again = GpuMemoryHogDriver.rollback(handle)
    assert again["hogs"][0]["stopped"] is False


def test_rollback_before_inject_is_a_no_op() -> None:
    handle = GpuMemoryHogDriver(hog_spec(), FaultContext()).prepare()
    assert GpuMemoryHogDriver.rollback(handle)["hogs"][0]["stopped"] is False


def test_hog_frees_memory_after_its_lifetime(handles: list[FaultHandle]) -> None:
    driver = GpuMemoryHogDriver(hog_spec(amount="8MiB", max_lifetime="1s"), FaultContext())
    handle = driver.prepare()
    handles.append(handle)
    pid = driver.inject(handle)["hogs"][0]["pid"]
    assert wait_gone(pid, 10), "the hog outlived its max_lifetime"
    assert not Path(handle.data["state_file"]).exists()


_HARNESS = """
import json, sys, time
from pydantic import TypeAdapter
from brownout.spec.faults import Fault
from brownout.faults.base import FaultContext
from brownout.faults.gpu import GpuMemoryHogDriver
from brownout.processes import die_with_parent
die_with_parent()
spec = TypeAdapter(Fault).validate_python(json.loads(sys.argv[1]))
driver = GpuMemoryHogDriver(spec, FaultContext())
handle = driver.prepare()
state = driver.inject(handle)["hogs"][0]
print(json.dumps({"handle": handle.to_dict(), "pid": state["pid"]}), flush=True)
time.sleep(60)
"""


def test_hog_dies_with_a_sigkilled_harness() -> None:
    raw = {"kind": "gpu.memory-hog", "name": "orphan", "amount": "16MiB", "backend": "host"}
    harness = subprocess.Popen([sys.executable, "-c", _HARNESS, json.dumps(raw)], stdout=subprocess.PIPE, text=True)
    try:
        line = harness.stdout.readline()  # type: ignore[union-attr]
        assert line, "harness printed nothing"
        started = json.loads(line)
        pid = started["pid"]
        assert pid_alive(pid) and rss(pid) >= 16 * MiB
        os.kill(harness.pid, signal.SIGKILL)
        harness.wait(5)
        assert wait_gone(pid, 5), "the hog outlived its SIGKILLed harness"
        handle = FaultHandle.from_dict(started["handle"])
        assert not Path(handle.data["state_file"]).exists()
        assert GpuMemoryHogDriver.rollback(handle)["hogs"][0]["stopped"] is False   # recover finds nothing left
    finally:
        terminate([harness.pid], grace=1)
        harness.wait(5)


@pytest.mark.skipif(not NO_GPU_STACK, reason="torch or cupy is installed here")
def test_refuses_without_torch_cupy_or_cuda() -> None:
    driver = GpuMemoryHogDriver(hog_spec(backend="auto"), FaultContext())
    with pytest.raises(InjectError, match=r"no GPU backend: torch not importable.*cupy not importable"):
        driver.resolve()
    handle = driver.prepare()
    with pytest.raises(InjectError, match="torch not importable"):
        driver.inject(handle)
    assert not Path(handle.data["state_file"]).exists()
    with pytest.raises(InjectError, match="cupy not importable"):
        GpuMemoryHogDriver(hog_spec(backend="cupy"), FaultContext()).resolve()


def test_refuses_a_host_hog_too_large_for_the_machine() -> None:
    with pytest.raises(RefusedError, match="host-memory"):
        GpuMemoryHogDriver(hog_spec(amount="64TiB"), FaultContext()).resolve()
