"""Which infrastructure metrics to record during a run (GPU memory, KV-cache usage, queue depth).

Each endpoint is a Prometheus text `/metrics` page scraped directly (a vLLM
server, a DCGM exporter, a sandbox replica), so a run records GPU memory before,
during and after a fault without needing a Prometheus server.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from brownout.spec.base import Name, StrictModel
from brownout.spec.units import Duration

__all__ = ["DEFAULT_METRICS", "MetricsEndpoint", "MetricsSampling"]

DEFAULT_METRICS: tuple[str, ...] = (
    # vLLM (`vllm:kv_cache_usage_perc` is the newer name of `vllm:gpu_cache_usage_perc`)
    "vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc", "vllm:num_requests_running",
    "vllm:num_requests_waiting", "vllm:gpu_memory_usage_bytes",
    # NVIDIA DCGM exporter: framebuffer used/free (MiB), GPU utilisation (%)
    "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_UTIL",
    # brownout's sandbox replicas
    "sandbox_gpu_memory_used_bytes", "sandbox_gpu_memory_total_bytes", "sandbox_kv_cache_usage_ratio",
    "sandbox_num_requests_running", "sandbox_num_requests_waiting",
)
"""GPU memory, KV-cache and queue gauges of the servers brownout knows; what an endpoint records by default."""


class MetricsEndpoint(StrictModel):
    """One Prometheus text endpoint and the metrics to keep from it."""

    name: Name = Field(..., description="Endpoint name, used in the samples file and the report.")
    url: str = Field(..., pattern=r"^https?://", description="Full URL of the metrics page, e.g. http://vllm:8000/metrics.")
    metrics: list[str] = Field(
        default_factory=lambda: list(DEFAULT_METRICS),
        min_length=1,
        description="Metric names or shell-style globs (`vllm:*`, `DCGM_FI_DEV_FB_*`) to keep; "
        "the known GPU memory, KV-cache and queue gauges of vLLM, DCGM and the sandbox when absent.",
    )


class MetricsSampling(StrictModel):
    """Scrape each endpoint on an interval for the whole run; samples go to `metrics.jsonl`."""

    interval: Duration = Field(2.0, description="Time between scrapes of each endpoint.")
    timeout: Duration = Field(2.0, description="Per-scrape timeout; a slow or dead endpoint is recorded as a failed scrape.")
    endpoints: list[MetricsEndpoint] = Field(..., min_length=1, description="Metrics pages to scrape.")

    @model_validator(mode="after")
    def _checks(self) -> MetricsSampling:
        if self.interval <= 0 or self.timeout <= 0:
            raise ValueError("interval and timeout must be longer than 0")
        names = [e.name for e in self.endpoints]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"endpoint names must be unique: {', '.join(duplicates)}")
        return self
