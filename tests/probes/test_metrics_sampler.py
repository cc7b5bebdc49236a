"""Metric sampler: the exposition parser, scraping real HTTP endpoints (a vLLM/DCGM-style page and the
sandbox's own replicas), the JSONL stream, and the per-phase summary."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import ValidationError

from brownout.spec.metrics import MetricsSampling
from brownout.rundata.timeline import PhaseWindow
from brownout.rundata.clock import RunClock
from brownout.probes.metrics_sampler import (
    MetricSampler,
    PhaseStats,
    Sample,
    parse_exposition,
    summarize,
)
from brownout.sandbox import SandboxConfig, start_sandbox

GiB = 2**30


class MetricsPage:
    """Serves a vLLM and a DCGM exporter page on loopback; tests change the values."""

    def __init__(self) -> None:
        self.cache_usage = 0.25
        self.fb_used = 1000
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/vllm/metrics":
                    body = (
                        "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage.\n# TYPE vllm:gpu_cache_usage_perc gauge\n"
                        f'vllm:gpu_cache_usage_perc{{engine="0",model_name="llama"}} {page.cache_usage}\n'
                        'vllm:num_requests_running{engine="0",model_name="llama"} 3.0\n'
                        'vllm:num_requests_waiting{engine="0",model_name="llama"} 0.0\n'
                        'vllm:e2e_request_latency_seconds_bucket{le="+Inf",model_name="llama"} 7.0\n'
                    )
                elif self.path == "/dcgm/metrics":
                    body = (
                        "# TYPE DCGM_FI_DEV_FB_USED gauge\n"
                        f'DCGM_FI_DEV_FB_USED{{gpu="0",UUID="GPU-1",modelName="NVIDIA H100 80GB HBM3"}} {page.fb_used}\n'
                        f'DCGM_FI_DEV_FB_FREE{{gpu="0",UUID="GPU-1",modelName="NVIDIA H100 80GB HBM3"}} {80000 - page.fb_used}\n'
                        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1"} 97\n'
                        'DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-1"} 1980\n'
                    )
                else:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def page() -> Iterator[MetricsPage]:
    server = MetricsPage()
    try:
        yield server
    finally:
        server.close()


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_parse_exposition_labels_escapes_and_special_values() -> None:
    text = (
        "# HELP x help\n# TYPE x gauge\n"
        'x{a="1",b="say \\"hi\\"\\n",c="back\\\\slash",d="{}"} 1.5 1712345678000\n'
        "plain 2\n"
        "nan_metric NaN\ninf_metric +Inf\n"
        "broken{a=1} 3\n"
        "# EOF\n"
    )
    parsed = parse_exposition(text)
    assert parsed[0] == ("x", {"a": "1", "b": 'say "hi"\n', "c": "back\\slash", "d": "{}"}, 1.5)
    assert parsed[1] == ("plain", {}, 2.0)
    assert math.isnan(parsed[2][2]) and parsed[3][2] == math.inf
    assert [p[0] for p in parsed] == ["x", "plain", "nan_metric", "inf_metric"]


def test_spec_defaults_and_rules() -> None:
    spec = MetricsSampling(endpoints=[{"name": "vllm", "url": "http://127.0.0.1:1/metrics"}])
    assert "vllm:gpu_cache_usage_perc" in spec.endpoints[0].metrics and "DCGM_FI_DEV_FB_USED" in spec.endpoints[0].metrics
    with pytest.raises(ValidationError, match="unique"):
        MetricsSampling(endpoints=[{"name": "a", "url": "http://x/metrics"}, {"name": "a", "url": "http://y/metrics"}])
    with pytest.raises(ValidationError, match="pattern"):
        MetricsSampling(endpoints=[{"name": "a", "url": "ftp://x/metrics"}])


def test_samples_vllm_and_dcgm_pages_and_streams_jsonl(page: MetricsPage, tmp_path: Path) -> None:
    spec = MetricsSampling(interval=0.1, timeout=1.0, endpoints=[
        {"name": "vllm", "url": page.url + "/vllm/metrics"},
        {"name": "dcgm", "url": page.url + "/dcgm/metrics", "metrics": ["DCGM_FI_DEV_FB_*"]},
        {"name": "down", "url": page.url + "/nothing"},
    ])
    out = tmp_path / "metrics.jsonl"
    sampler = MetricSampler(spec, RunClock(), out)
    sampler.start()
    try:
        def seen(metric: str, value: float) -> bool:
            return any(s.metric == metric and s.value == value for s in sampler.samples())

        assert wait_until(lambda: seen("vllm:gpu_cache_usage_perc", 0.25) and seen("DCGM_FI_DEV_FB_USED", 1000))
        page.cache_usage, page.fb_used = 0.97, 79000
        assert wait_until(lambda: seen("vllm:gpu_cache_usage_perc", 0.97) and seen("DCGM_FI_DEV_FB_FREE", 1000))
    finally:
        sampler.stop()
    sampler.stop()  # idempotent
    samples = sampler.samples()
    metrics = {s.metric for s in samples}
    assert metrics == {"vllm:gpu_cache_usage_perc", "vllm:num_requests_running", "vllm:num_requests_waiting",
                       "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"}   # globs and defaults filter the rest
    cache = next(s for s in samples if s.metric == "vllm:gpu_cache_usage_perc")
    assert cache.labels == {"engine": "0", "model_name": "llama"} and cache.endpoint == "vllm"
    failures = sampler.failures()
    assert failures and {f.endpoint for f in failures} == {"down"} and failures[0].error == "HTTP 503"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(samples) + len(failures)
    assert Sample(**next(line for line in lines if "metric" in line)) in samples
    count = len(samples)
    time.sleep(0.3)
    assert len(sampler.samples()) == count, "the sampler kept scraping after stop()"


def test_summarize_per_phase() -> None:
    phases = [PhaseWindow("baseline", 0.0, 10.0), PhaseWindow("fault", 10.0, 20.0), PhaseWindow("recovery", 20.0, 30.0)]
    gpu = [Sample(t, "r", "gpu_used", {"gpu": "0"}, v) for t, v in ((1, 10), (5, 20), (10, 90), (15, 100), (19, math.nan))]
    other = [Sample(2, "r", "gpu_used", {"gpu": "1"}, 1.0), Sample(40, "r", "gpu_used", {"gpu": "1"}, 5.0)]
    summary = summarize(gpu + other, phases)
    assert [(s.metric, s.labels) for s in summary] == [("gpu_used", {"gpu": "0"}), ("gpu_used", {"gpu": "1"})]
    first = summary[0].phases
    assert first["baseline"] == PhaseStats(count=2, min=10, mean=15, max=20, last=20)
    assert first["fault"] == PhaseStats(count=2, min=90, mean=95, max=100, last=100)   # NaN ignored
    assert first["recovery"] is None                                                 # no data, not 0
    assert summary[1].phases["recovery"] is None and summary[1].phases["baseline"].count == 1


def test_sandbox_replica_gpu_memory_is_sampled_through_a_shrink(tmp_path: Path) -> None:
    sandbox = start_sandbox(SandboxConfig(regions=["us-east"], replicas_per_region=1, cold_start=0.5), tmp_path / "sb",
                            timeout=40)
    try:
        replica = next(c for c in sandbox.state()["components"] if c["role"] == "replica")
        spec = MetricsSampling(interval=0.2, endpoints=[{"name": replica["name"], "url": replica["url"] + "/metrics"}])
        sampler = MetricSampler(spec, RunClock())
        sampler.start()
        try:
            def totals() -> list[float]:
                return [s.value for s in sampler.samples() if s.metric == "sandbox_gpu_memory_total_bytes"]

            assert wait_until(lambda: totals() and totals()[-1] == replica["gpu_memory_total"])
            sandbox.control(f"/sandbox/components/{replica['name']}/gpu", {"gpu_memory": GiB})
            assert wait_until(lambda: totals()[-1] == GiB), totals()[-5:]
            sandbox.control(f"/sandbox/components/{replica['name']}/gpu", {"gpu_memory": None})
            assert wait_until(lambda: totals()[-1] == replica["gpu_memory_total"])
        finally:
            sampler.stop()
        kinds = {s.metric for s in sampler.samples()}
        assert {"sandbox_gpu_memory_used_bytes", "sandbox_kv_cache_usage_ratio", "sandbox_num_requests_running"} <= kinds
        assert not sampler.failures()
    finally:
        sandbox.stop()
