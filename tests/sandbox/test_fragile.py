"""The fragile profile: the same faults pass straight through to clients."""

from __future__ import annotations

import time

import httpx
import pytest

from brownout.sandbox import DEGRADED_HEADER, SandboxHandle

from .conftest import RATE_LIMIT, chat, component, wait_until_ready


@pytest.fixture(autouse=True)
def _healthy_between_tests(fragile: SandboxHandle) -> None:
    wait_until_ready(fragile)


def _ask(http: httpx.Client, handle: SandboxHandle) -> httpx.Response:
    return http.post(handle.gateway_url + "/v1/chat/completions", json=chat(max_tokens=3))


def test_replica_kill_reaches_clients_until_the_replica_is_back(fragile: SandboxHandle, http: httpx.Client) -> None:
    assert _ask(http, fragile).status_code == 200
    fragile.control("/sandbox/components/llm-us-east-0/signal", {"signal": "SIGKILL"})
    failed = [_ask(http, fragile) for _ in range(3)]
    assert all(r.status_code in (502, 503) for r in failed), [r.status_code for r in failed]
    assert all("error" in r.json() for r in failed)
    wait_until_ready(fragile)
    assert component(fragile, "llm-us-east-0")["restarts"] >= 1
    assert _ask(http, fragile).status_code == 200


def test_region_down_is_an_outage_without_failover(fragile: SandboxHandle, http: httpx.Client) -> None:
    fragile.control("/sandbox/regions/us-east/down")
    try:
        response = _ask(http, fragile)
        assert response.status_code == 502
        assert response.headers.get("x-sandbox-region") != "eu-west"
    finally:
        fragile.control("/sandbox/regions/us-east/up")


def test_gpu_oom_passes_through_the_gateway(fragile: SandboxHandle, http: httpx.Client) -> None:
    fragile.control("/sandbox/components/llm-us-east-0/gpu", {"gpu_memory": 2**20})
    try:
        response = _ask(http, fragile)
        assert response.status_code == 500
        assert response.json()["error"]["message"].startswith("CUDA out of memory")
        assert response.headers["x-sandbox-replica"] == "llm-us-east-0"
    finally:
        fragile.control("/sandbox/components/llm-us-east-0/gpu", {"gpu_memory": None})
    assert _ask(http, fragile).status_code == 200


def test_slow_embeddings_make_rag_slow_with_no_degradation(fragile: SandboxHandle, http: httpx.Client) -> None:
    fragile.control("/sandbox/embedder/latency", {"latency": 1.5})
    try:
        started = time.monotonic()
        response = http.post(fragile.gateway_url + "/v1/rag", json={"question": "What is the capital of France?"})
        elapsed = time.monotonic() - started
    finally:
        fragile.control("/sandbox/embedder/latency", {"latency": 0})
    assert response.status_code == 200 and response.json()["retrieval"] == "vector"
    assert DEGRADED_HEADER not in response.headers
    assert elapsed >= 1.5


def test_token_rate_limit_answers_429_with_retry_after(fragile: SandboxHandle, http: httpx.Client) -> None:
    time.sleep(1.0)  # a full bucket
    big = {"prompt": " ".join(["word"] * int(RATE_LIMIT * 0.8)), "max_tokens": 1}
    assert http.post(fragile.gateway_url + "/v1/completions", json=big).status_code == 200
    throttled = http.post(fragile.gateway_url + "/v1/completions", json=big)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["error"]["type"] == "rate_limit_exceeded"
