"""One LLM replica as a real process: SSE shape, timing, KV-cache queueing, GPU OOM, cold start."""

from __future__ import annotations

import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from brownout.processes import free_port, terminate, wait_port
from brownout.sandbox import SandboxConfig

from .conftest import chat, read_sse

STEP = 0.02
KV_TOKENS = 64


def _start(tmp_path: Path, cold_start: float, **overrides: object) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = SandboxConfig(
        decode_step=STEP, kv_cache_tokens=KV_TOKENS, max_running=8, prefill_per_token=0.0, **overrides  # type: ignore[arg-type]
    )
    argv = [sys.executable, "-m", "brownout.sandbox.replica", "--config", config.to_json(), "--port", str(port),
            "--name", "llm-test-0", "--region", "test", "--model", "sandbox-large", "--cold-start", str(cold_start)]
    with open(tmp_path / "replica.log", "ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    assert wait_port("127.0.0.1", port, 15), (tmp_path / "replica.log").read_text()
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture()
def replica(tmp_path: Path) -> Iterator[str]:
    process, url = _start(tmp_path, cold_start=0.0)
    try:
        yield url
    finally:
        terminate([process.pid], grace=3)
        process.wait(5)


def test_stream_is_wellformed_with_usage_and_decode_step_timing(replica: str) -> None:
    body = chat(max_tokens=20, ignore_eos=True, stream=True, stream_options={"include_usage": True})
    with httpx.Client(timeout=20) as client:
        sent = time.perf_counter()
        with client.stream("POST", replica + "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-sandbox-replica"] == "llm-test-0"
            events, done, arrivals = read_sse(response)
    assert done
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(e["model"] == "sandbox-large" and e["object"] == "chat.completion.chunk" for e in events)
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    assert events[-1]["choices"] == [] and events[-1]["usage"] == {"prompt_tokens": 6, "completion_tokens": 20, "total_tokens": 26}
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert text.startswith("Paris is the capital of France.") and len(text.split()) == 20
    assert len(arrivals) == 20
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert STEP * 0.7 <= statistics.median(gaps) <= STEP * 3, gaps
    assert arrivals[0] - sent >= STEP * 0.7


def test_kv_budget_makes_excess_requests_queue(replica: str) -> None:
    # Each request reserves 2 prompt + 40 output = 42 of 64 KV tokens: only one fits at a time.
    def ttft(i: int) -> float:
        body = {"prompt": f"request {i}", "max_tokens": 40, "ignore_eos": True, "stream": True}
        with httpx.Client(timeout=30) as client:
            sent = time.perf_counter()
            with client.stream("POST", replica + "/v1/completions", json=body) as response:
                _, done, arrivals = read_sse(response)
        assert done and len(arrivals) == 40
        return arrivals[0] - sent

    with ThreadPoolExecutor(3) as pool:
        ttfts = sorted(pool.map(ttft, range(3)))
    one_request = 40 * STEP
    assert ttfts[0] < one_request / 2, ttfts
    assert ttfts[1] >= one_request * 0.8, ttfts
    assert ttfts[2] >= one_request * 1.6, ttfts


def test_context_over_kv_budget_is_refused(replica: str) -> None:
    response = httpx.post(replica + "/v1/completions", json={"prompt": "x", "max_tokens": KV_TOKENS * 2}, timeout=10)
    assert response.status_code == 400
    assert "maximum context length" in response.json()["error"]["message"]


def test_gpu_shrink_gives_cuda_oom_and_restore_heals(replica: str) -> None:
    with httpx.Client(timeout=10) as client:
        assert client.post(replica + "/admin/gpu", json={"gpu_memory": 512 * 2**20}).json()["gpu_memory"] == 512 * 2**20
        response = client.post(replica + "/v1/completions", json={"prompt": "hi", "max_tokens": 3})
        assert response.status_code == 500
        error = response.json()["error"]
        assert error["type"] == "server_error" and error["message"].startswith("CUDA out of memory. Tried to allocate")
        metrics = client.get(replica + "/metrics").text
        assert "sandbox_gpu_memory_total_bytes 536870912" in metrics
        assert 'sandbox_requests_total{status="500"} 1' in metrics
        client.post(replica + "/admin/gpu", json={"gpu_memory": None})
        assert client.post(replica + "/v1/completions", json={"prompt": "hi", "max_tokens": 3}).status_code == 200


def test_cold_start_answers_503_until_loaded(tmp_path: Path) -> None:
    process, url = _start(tmp_path, cold_start=1.0)
    try:
        started = time.monotonic()
        assert httpx.get(url + "/health").status_code == 503
        assert httpx.post(url + "/v1/completions", json={"prompt": "hi", "max_tokens": 2}).status_code == 503
        while httpx.get(url + "/health").status_code != 200:
            assert time.monotonic() - started < 10
            time.sleep(0.05)
        assert time.monotonic() - started >= 0.7
        models = httpx.get(url + "/v1/models").json()
        assert [m["id"] for m in models["data"]] == ["sandbox-large"]
    finally:
        terminate([process.pid], grace=3)
        process.wait(5)


def test_oom_crash_behaviour_exits_the_process(tmp_path: Path) -> None:
    process, url = _start(tmp_path, cold_start=0.0, oom_behaviour="crash")
    try:
        httpx.post(url + "/admin/gpu", json={"gpu_memory": 2**20})
        with pytest.raises(httpx.HTTPError):
            httpx.post(url + "/v1/completions", json={"prompt": "hi", "max_tokens": 3}, timeout=5)
        assert process.wait(5) == 3
        assert "CUDA out of memory" in (tmp_path / "replica.log").read_text()
    finally:
        terminate([process.pid], grace=3)
        process.wait(5)
