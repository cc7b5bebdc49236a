"""`stream.fault`: spec validation, the driver's lifecycle against a real proxy, and the proxy's lifetime."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from brownout.errors import InjectError
from brownout.spec.faults import Fault, StreamFault
from brownout.spec.units import FROM_FILE
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.registry import DRIVERS
from brownout.faults.stream import StreamFaultDriver, list_rules, start_stream_proxy, stream_proxy_for
from brownout.processes import pid_alive, terminate
from tests.faults.test_stream_proxy import TOKENS, chat, client, proxy, upstream  # noqa: F401  (fixtures)


def context(control_url: str | None) -> FaultContext:
    return FaultContext(seed=3, stream_proxy_control=control_url)


def spec(**fields) -> StreamFault:
    return TypeAdapter(Fault).validate_python({"kind": "stream.fault", "name": "s1", **fields}, context={FROM_FILE: True})


def test_spec_reads_units_and_fits_parameters_to_mode():
    stall = spec(mode="stall", after_tokens=3, stall="1500ms", share=0.25, schedule={"duration": "30s"})
    assert isinstance(stall, StreamFault) and stall.stall == 1.5 and stall.effective_ttl == 60.0
    assert spec(mode="throttle").effective_ttl == 600.0
    assert spec(mode="slow", slowdown=3).slowdown == 3.0
    assert "Retry-After 3s" in StreamFaultDriver(spec(mode="throttle", retry_after="2500ms"), FaultContext()).resolve().action


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"mode": "cut", "stall": "1s"}, "does not use stall"),
        ({"mode": "throttle", "after_tokens": 2}, "does not use after_tokens"),
        ({"mode": "cut", "retry_after": "2s"}, "does not use retry_after"),
        ({"mode": "stall"}, "needs stall"),
        ({"mode": "slow"}, "needs slowdown"),
        ({"mode": "unavailable", "pause": "1s"}, "pause needs burst"),
        ({"mode": "cut", "share": 1.5}, "less than or equal to 1"),
        ({"mode": "cut", "stall": 2}, "bare number"),
        ({"mode": "cut", "typo": 1}, "Extra inputs"),
    ],
)
def test_spec_refuses_parameters_that_do_not_fit(fields, message):
    with pytest.raises(ValidationError, match=message):
        spec(**fields)


def test_driver_is_registered():
    assert DRIVERS["stream.fault"] is StreamFaultDriver


def test_without_a_proxy_dry_run_works_and_prepare_says_why_not():
    driver = StreamFaultDriver(spec(mode="cut", after_tokens=2, share=0.5), FaultContext())
    resolution = driver.resolve()
    assert "cut the stream after 2 token(s) for 50%" in resolution.action and resolution.candidates == 1
    with pytest.raises(InjectError, match="stream_proxy_control"):
        driver.prepare()


def test_inject_then_rollback_twice(proxy, client):  # noqa: F811
    driver = StreamFaultDriver(spec(mode="cut", after_tokens=1), context(proxy.control_url))
    handle = driver.prepare()
    handle = FaultHandle.from_dict(json.loads(json.dumps(handle.to_dict())))  # as the journal stores it
    detail = driver.inject(handle)
    assert detail["rule_id"] == "s1" and 0 < detail["expires_in"] <= 600
    assert chat(client, proxy.url).tokens == 1
    first = StreamFaultDriver.rollback(handle)
    assert first == {"removed": True, "seen": 1, "affected": 1}
    second = StreamFaultDriver.rollback(handle)
    assert second["removed"] is False
    seen = chat(client, proxy.url)
    assert seen.tokens == TOKENS and seen.done
    assert list_rules(proxy.control_url) == []


def test_rollback_after_the_proxy_is_gone_and_inject_without_it(upstream, tmp_path):  # noqa: F811
    with start_stream_proxy(upstream.url, tmp_path) as gone:
        driver = StreamFaultDriver(spec(mode="throttle"), context(gone.control_url))
        handle = driver.prepare()
        driver.inject(handle)
    assert StreamFaultDriver.rollback(handle)["removed"] is False
    with pytest.raises(InjectError, match="unreachable"):
        driver.inject(handle)


def test_stream_proxy_for_starts_only_when_needed(upstream, tmp_path):  # noqa: F811
    assert stream_proxy_for([], upstream.url, tmp_path) is None
    started = stream_proxy_for([spec(mode="throttle")], upstream.url, tmp_path)
    try:
        assert httpx.get(f"{started.url}/health").json() == {"status": "ok"}
        assert httpx.get(f"{started.control_url}/health").json()["pid"] == started.pid
    finally:
        started.stop()
    assert not pid_alive(started.pid)
    started.stop()  # idempotent


_PARENT = """
import sys, time
from pathlib import Path
from brownout.faults.stream import start_stream_proxy
proxy = start_stream_proxy(sys.argv[1], Path(sys.argv[2]))
print(proxy.pid, flush=True)
time.sleep(60)
"""


def test_proxy_dies_with_its_parent(upstream, tmp_path):  # noqa: F811
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, upstream.url, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    child = None
    try:
        child = int(parent.stdout.readline())
        assert pid_alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=5)
        deadline = time.monotonic() + 5
        while pid_alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(child)
    finally:
        terminate([p for p in (parent.pid, child) if p], grace=1.0)
        parent.wait(timeout=5)
        parent.stdout.close()
