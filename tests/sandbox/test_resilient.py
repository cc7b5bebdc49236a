"""The resilient profile under the sandbox's faults, driven through the supervisor's control API."""

from __future__ import annotations

import time

import httpx
import pytest

from brownout.sandbox import DEGRADED_HEADER, SandboxHandle

from .conftest import COLD_START, chat, component, read_sse, wait_until_ready


def metric(text: str, name: str) -> float:
    """The value of an unlabelled sample in Prometheus text."""
    return next(float(line.split()[1]) for line in text.splitlines() if line.startswith(name + " "))


@pytest.fixture(autouse=True)
def _healthy_between_tests(resilient: SandboxHandle) -> None:
    wait_until_ready(resilient)


def test_gateway_serves_streaming_chat_from_home_region(resilient: SandboxHandle, http: httpx.Client) -> None:
    body = chat(max_tokens=8, stream=True, stream_options={"include_usage": True})
    with http.stream("POST", resilient.gateway_url + "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["x-sandbox-region"] == "us-east"
        assert response.headers["x-sandbox-replica"].startswith("llm-us-east-")
        assert DEGRADED_HEADER not in response.headers
        events, done, arrivals = read_sse(response)
    assert done and events[-1]["usage"]["completion_tokens"] == len(arrivals)
    models = http.get(resilient.gateway_url + "/v1/models").json()
    assert {m["id"] for m in models["data"]} == {"sandbox-large", "sandbox-small"}
    embedding = http.post(resilient.gateway_url + "/v1/embeddings", json={"input": ["a b", "c"]}).json()
    assert len(embedding["data"]) == 2 and len(embedding["data"][0]["embedding"]) == 256


def test_rag_retrieves_the_right_source_and_answers(resilient: SandboxHandle, http: httpx.Client) -> None:
    response = http.post(resilient.gateway_url + "/v1/rag", json={"question": "What is the capital of France?", "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["retrieval"] == "vector" and DEGRADED_HEADER not in response.headers
    assert body["sources"][0]["id"] == "geo-france" and len(body["sources"]) == 3
    assert "Paris" in body["answer"]


def test_replica_kill_is_retried_and_the_replica_restarts(resilient: SandboxHandle, http: httpx.Client) -> None:
    victim = component(resilient, "llm-us-east-0")
    killed = resilient.control("/sandbox/components/llm-us-east-0/signal", {"signal": "SIGKILL"})
    assert killed["pid"] == victim["pid"] and killed["exited"]
    killed_at = time.monotonic()
    statuses = [
        http.post(resilient.gateway_url + "/v1/chat/completions", json=chat(max_tokens=3)).status_code for _ in range(8)
    ]
    assert statuses == [200] * 8
    while (c := component(resilient, "llm-us-east-0"))["status"] != "ready":
        assert time.monotonic() - killed_at < 15, c
        time.sleep(0.05)
    back_after = time.monotonic() - killed_at
    assert c["pid"] != victim["pid"] and c["restarts"] >= 1
    assert back_after >= COLD_START * 0.8


def test_cut_stream_is_not_replayed(resilient: SandboxHandle, http: httpx.Client) -> None:
    body = chat(max_tokens=150, ignore_eos=True, stream=True)
    with http.stream("POST", resilient.gateway_url + "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        first = next(line for line in lines if line)
        assert first.startswith("data: ")
        resilient.control(f"/sandbox/components/{response.headers['x-sandbox-replica']}/signal", {"signal": "SIGKILL"})
        rest: list[str] = []
        with pytest.raises(httpx.HTTPError):
            rest.extend(lines)
    assert "data: [DONE]" not in rest
    assert sum(1 for line in rest if line.startswith("data: ")) < 149


def test_region_down_fails_over_to_the_other_region(resilient: SandboxHandle, http: httpx.Client) -> None:
    down = resilient.control("/sandbox/regions/us-east/down")
    assert len(down["stopped_pids"]) == 2
    assert resilient.control("/sandbox/regions/us-east/down")["note"] == "was down"  # idempotent
    again = resilient.control("/sandbox/components/llm-us-east-0/signal", {"signal": "SIGKILL"})
    assert again["pid"] is None and again["note"] == "already stopped"
    state = resilient.state()
    assert state["regions"]["us-east"] == "down"
    assert {c["status"] for c in state["components"] if c["region"] == "us-east" and c["role"] == "replica"} == {"stopped"}
    for _ in range(4):
        response = http.post(resilient.gateway_url + "/v1/chat/completions", json=chat(max_tokens=3))
        assert response.status_code == 200
        assert response.headers["x-sandbox-region"] == "eu-west"
        assert response.json()["model"] == "sandbox-large"
    time.sleep(COLD_START + 0.5)
    assert {c["status"] for c in resilient.state()["components"] if c["region"] == "us-east" and c["role"] == "replica"} == {"stopped"}
    up = resilient.control("/sandbox/regions/us-east/up")
    assert sorted(up["started"]) == ["llm-us-east-0", "llm-us-east-1"]
    assert resilient.control("/sandbox/regions/us-east/up")["started"] == []
    wait_until_ready(resilient)
    response = http.post(resilient.gateway_url + "/v1/chat/completions", json=chat(max_tokens=3))
    assert response.headers["x-sandbox-region"] == "us-east"


def test_gpu_shrink_causes_oom_on_the_replica_and_survives_restart(resilient: SandboxHandle, http: httpx.Client) -> None:
    name = "llm-eu-west-1"
    url = component(resilient, name)["url"]
    shrunk = resilient.control(f"/sandbox/components/{name}/gpu", {"gpu_memory": 512 * 2**20})
    assert shrunk["applied_now"] and shrunk["changed"]
    assert component(resilient, name)["gpu_memory"] == 512 * 2**20
    oom = http.post(url + "/v1/completions", json={"prompt": "hi", "max_tokens": 3})
    assert oom.status_code == 500 and "CUDA out of memory" in oom.json()["error"]["message"]
    resilient.control(f"/sandbox/components/{name}/signal", {"signal": "SIGKILL"})
    wait_until_ready(resilient)
    assert http.post(url + "/v1/completions", json={"prompt": "hi", "max_tokens": 3}).status_code == 500
    restored = resilient.control(f"/sandbox/components/{name}/gpu", {"gpu_memory": None})
    assert restored["changed"] and restored["gpu_memory"] == component(resilient, name)["gpu_memory_total"]
    assert not resilient.control(f"/sandbox/components/{name}/gpu", {"gpu_memory": None})["changed"]
    assert http.post(url + "/v1/completions", json={"prompt": "hi", "max_tokens": 3}).status_code == 200


def test_oom_on_every_home_replica_is_retried_elsewhere(resilient: SandboxHandle, http: httpx.Client) -> None:
    for name in ("llm-us-east-0", "llm-us-east-1"):
        resilient.control(f"/sandbox/components/{name}/gpu", {"gpu_memory": 2**20})
    try:
        response = http.post(resilient.gateway_url + "/v1/chat/completions", json=chat(max_tokens=3))
        assert response.status_code == 200 and response.headers["x-sandbox-region"] == "eu-west"
        metrics = http.get(resilient.gateway_url + "/metrics").text
        assert metric(metrics, "sandbox_gateway_retries_total") >= 1
        assert metric(metrics, "sandbox_gateway_failovers_total") >= 1
    finally:
        for name in ("llm-us-east-0", "llm-us-east-1"):
            resilient.control(f"/sandbox/components/{name}/gpu", {"gpu_memory": None})


def test_slow_embeddings_fall_back_to_keyword_retrieval(resilient: SandboxHandle, http: httpx.Client) -> None:
    resilient.control("/sandbox/embedder/latency", {"latency": 3.0, "jitter": 0.1})
    try:
        started = time.monotonic()
        response = http.post(resilient.gateway_url + "/v1/rag", json={"question": "What is the capital of France?"})
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        body = response.json()
        assert body["retrieval"] == "keyword" and "keyword-retrieval" in response.headers[DEGRADED_HEADER]
        assert body["sources"][0]["id"] == "geo-france" and "Paris" in body["answer"]
        assert elapsed < 3.0
    finally:
        assert resilient.control("/sandbox/embedder/latency", {"latency": 0})["latency"] == 0
    assert http.post(resilient.gateway_url + "/v1/rag", json={"question": "capital of France?"}).json()["retrieval"] == "vector"


def test_fallback_model_when_every_primary_replica_is_down(resilient: SandboxHandle, http: httpx.Client) -> None:
    for region in ("us-east", "eu-west"):
        resilient.control(f"/sandbox/regions/{region}/down")
    try:
        response = http.post(resilient.gateway_url + "/v1/chat/completions", json=chat(max_tokens=5))
        assert response.status_code == 200
        assert response.headers[DEGRADED_HEADER] == "fallback-model"
        assert response.json()["model"] == "sandbox-small"
        assert response.headers["x-sandbox-replica"] == "llm-fallback-0"
        with http.stream("POST", resilient.gateway_url + "/v1/chat/completions", json=chat(max_tokens=5, stream=True)) as streamed:
            assert streamed.headers[DEGRADED_HEADER] == "fallback-model"
            events, done, _ = read_sse(streamed)
        assert done and {e["model"] for e in events} == {"sandbox-small"}
    finally:
        for region in ("us-east", "eu-west"):
            resilient.control(f"/sandbox/regions/{region}/up")


def test_control_api_names_unknown_targets(resilient: SandboxHandle, http: httpx.Client) -> None:
    response = http.post(resilient.control_url + "/sandbox/components/nope/signal", json={"signal": "SIGKILL"})
    assert response.status_code == 404 and "llm-us-east-0" in response.json()["components"]
    assert http.post(resilient.control_url + "/sandbox/regions/mars/down").status_code == 404
    assert http.post(resilient.control_url + "/sandbox/components/gateway/gpu", json={"gpu_memory": 1}).status_code == 400
    assert http.post(resilient.control_url + "/sandbox/components/gateway/signal", json={"signal": "SIGSTOP"}).status_code == 400
