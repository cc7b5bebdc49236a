"""The KV-cache flood fault against the embedded sandbox: normal requests queue during it and recover after."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import httpx
import pytest

from brownout.errors import InjectError
from brownout.spec.faults import LoadKvCacheFlood
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.registry import DRIVERS
from brownout.processes import pid_alive
from brownout.sandbox import SandboxConfig, start_sandbox

pytestmark = pytest.mark.timeout(120)

FLOOD = {"name": "flood", "kind": "load.kv-cache-flood", "context_tokens": 2048, "output_tokens": 32,
         "burst_size": 4, "burst_every": "1s", "max_in_flight": 8, "timeout": "30s"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    config = SandboxConfig(profile="fragile", regions=("us-east",), replicas_per_region=1, kv_cache_tokens=2048,
                           cold_start=0.2, decode_step=0.02, prefill_per_token=0.0002)
    handle = start_sandbox(config, tmp_path_factory.mktemp("sandbox"), timeout=40)
    try:
        yield handle
    finally:
        handle.stop()


def _ttft(url: str, timeout: float = 20.0) -> float:
    """Seconds to the first content chunk of one short streamed chat request."""
    body = {"model": "sandbox-large", "stream": True, "max_tokens": 4, "messages": [{"role": "user", "content": "hello there"}]}
    t0 = time.monotonic()
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: {") and json.loads(line[6:]).get("choices", [{}])[0].get("delta", {}).get("content"):
                return time.monotonic() - t0
    raise AssertionError("no content")


def _driver(url: str | None):
    spec = LoadKvCacheFlood.model_validate(FLOOD)
    return DRIVERS["load.kv-cache-flood"](spec, FaultContext(seed=3, target_url=url))


def test_flood_queues_normal_requests_and_rollback_ends_it(sandbox):
    url = sandbox.gateway_url
    baseline = statistics.median(_ttft(url) for _ in range(3))
    driver = _driver(url)
    assert "bursts of 4 requests of ~1913 prompt tokens every 1s" in driver.resolve().action
    handle = driver.prepare()
    handle = FaultHandle.from_dict(json.loads(json.dumps(handle.to_dict())))  # what the journal keeps
    try:
        details = driver.inject(handle)
        assert details["model"] == "sandbox-large" and pid_alive(handle.data["pid"])
        time.sleep(2.0)
        during = _ttft(url)
        assert during > max(1.0, 5 * baseline), (baseline, during)
    finally:
        undone = type(driver).rollback(handle)
    assert undone["stopped"] and not pid_alive(handle.data["pid"]) and undone["sent"] >= 4
    assert type(driver).rollback(handle)["stopped"] is False  # idempotent
    deadline = time.monotonic() + 30
    after = _ttft(url)
    while after > max(0.3, 3 * baseline) and time.monotonic() < deadline:
        time.sleep(0.5)
        after = _ttft(url)
    assert after <= max(0.3, 3 * baseline), (baseline, after)


def test_needs_a_target_url():
    with pytest.raises(InjectError, match="needs the target's base URL"):
        _driver(None).resolve()


def test_rollback_never_kills_a_process_that_is_not_its_flood(tmp_path):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        handle = FaultHandle("flood", "load.kv-cache-flood",
                             {"target_url": "http://127.0.0.1:9", "out_dir": str(tmp_path), "plan": str(tmp_path / "plan.json"),
                              "pid": other.pid})
        assert DRIVERS["load.kv-cache-flood"].rollback(handle)["stopped"] is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
