"""What the experiment hits: the embedded sandbox or an OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.base import Name, StrictModel
from brownout.spec.units import Duration, Size

__all__ = ["EndpointTarget", "SandboxTarget", "Target"]


class SandboxTarget(StrictModel):
    """The embedded reference AI stack, started and stopped by brownout itself."""

    profile: Literal["resilient", "fragile"] = Field(
        "resilient",
        description="'resilient': retries, cross-region failover, fallback model, keyword retrieval. 'fragile': none of them, to show what failing looks like.",
    )
    regions: list[Name] = Field(
        default_factory=lambda: ["us-east", "eu-west"], min_length=1, max_length=4,
        description="Region names; each gets its own LLM replicas.",
    )
    replicas_per_region: int = Field(2, ge=1, le=8, description="LLM replicas started in each region.")
    cold_start: Duration = Field(3.0, description="How long a killed replica takes to come back (model load time).")
    gpu_memory: Size = Field(16 * 2**30, description="Simulated GPU memory of each replica.")
    kv_cache_tokens: int = Field(16384, ge=256, description="KV-cache budget of each replica, in tokens; over it requests queue.")
    max_running: int = Field(8, ge=1, le=256, description="Sequences decoded together in one continuous batch.")
    prefill_per_token: Duration = Field(0.0002, description="Prefill time per prompt token.")
    decode_step: Duration = Field(0.02, description="Time of one decode step (inter-token latency of an unloaded replica).")
    embedding_per_token: Duration = Field(0.0002, description="Embedding service time per input token.")
    oom_behaviour: Literal["error", "crash"] = Field(
        "error", description="When simulated GPU memory runs out: answer CUDA-OOM-style 500s, or crash the replica process."
    )
    rate_limit_tokens_per_s: float | None = Field(
        None, gt=0, description="Gateway token rate limit (429 with Retry-After above it); none by default."
    )
    attach: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Control URL of a sandbox already running (`brownout sandbox up`); brownout then neither starts nor stops it, and the other settings here are ignored.",
    )


class EndpointTarget(StrictModel):
    """An OpenAI-compatible endpoint that brownout does not manage."""

    base_url: str = Field(..., pattern=r"^https?://", description="Base URL, e.g. http://gateway:8000 (paths /v1/... are appended).")
    api_key_env: str | None = Field(
        None, description="Name of the environment variable that holds the API key. The key itself never goes in a file."
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers (values may use ${VAR}).")
    health_path: str = Field("/health", description="Path checked before the run starts.")
    verify_tls: bool = Field(
        True, description="Verify TLS certificates, for load, probes and the health check alike (a failure: `tls_certificate`)."
    )
    ca_bundle: str | None = Field(
        None,
        description="PEM file of the CAs to trust instead of the system's (a private CA), relative to the experiment "
        "file; used by load, probes and the health check.",
    )
    follow_redirects: bool = Field(
        False,
        description="Follow 3xx redirects (at most 5) in load and probes. Off: a redirect fails the request as "
        "`redirect`, naming its location.",
    )


class Target(StrictModel):
    """Exactly one of `sandbox` or `endpoint`."""

    sandbox: SandboxTarget | None = Field(None, description="Run against the embedded sandbox.")
    endpoint: EndpointTarget | None = Field(None, description="Run against an existing OpenAI-compatible endpoint.")
    model: str = Field("sandbox-large", min_length=1, description="Primary model name sent in requests.")

    @model_validator(mode="after")
    def _exactly_one(self) -> "Target":
        if (self.sandbox is None) == (self.endpoint is None):
            raise ValueError("set exactly one of 'sandbox' or 'endpoint'")
        return self
