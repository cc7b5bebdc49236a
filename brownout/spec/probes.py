"""Synthetic probes: small checks run on their own interval, outside the load."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from brownout.spec.base import Name, StrictModel
from brownout.spec.units import Duration

__all__ = [
    "ChatProbe",
    "ContentCheck",
    "EmbeddingsProbe",
    "HttpProbe",
    "KubernetesProbe",
    "Probe",
    "PrometheusProbe",
    "RagProbe",
]


class ContentCheck(StrictModel):
    """Exactly one way of judging an answer's text."""

    contains: str | None = Field(None, description="The answer contains this text (case-insensitive).")
    regex: str | None = Field(None, description="The answer matches this regular expression.")
    equals: str | None = Field(None, description="The answer equals this text after trimming.")
    json_schema: dict | None = Field(None, description="The answer parses as JSON and validates against this schema.")

    @model_validator(mode="after")
    def _exactly_one(self) -> ContentCheck:
        given = [k for k in ("contains", "regex", "equals", "json_schema") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("set exactly one of contains, regex, equals, json_schema")
        return self

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        return value

    @field_validator("json_schema")
    @classmethod
    def _supported_schema(cls, value: dict | None) -> dict | None:
        # Imported here: the spec package must not import probes at module load.
        from brownout.spec.jsonschema import unsupported_keywords

        if value is not None:
            unknown = unsupported_keywords(value)
            if unknown:
                raise ValueError(f"json_schema uses keywords brownout does not check: {', '.join(unknown)}")
        return value


class _ProbeBase(StrictModel):
    name: Name = Field(..., description="Unique probe name.")
    interval: Duration = Field(2.0, description="Time between two runs of the probe.")
    timeout: Duration = Field(5.0, description="Timeout of one run.")

    @model_validator(mode="after")
    def _positive_times(self) -> _ProbeBase:
        if self.interval <= 0 or self.timeout <= 0:
            raise ValueError("interval and timeout must be longer than 0")
        return self


class ChatProbe(_ProbeBase):
    """A canary prompt whose answer must pass a content check (catches 200-OK-but-wrong)."""

    kind: Literal["chat"]
    prompt: str = Field(..., min_length=1, description="Canary prompt.")
    expect: ContentCheck = Field(..., description="What the answer must contain.")
    max_tokens: int = Field(32, ge=1, description="max_tokens of the canary request.")
    model: str | None = Field(None, description="Model sent in the request; the target's model when absent.")
    latency_budget: Duration | None = Field(None, description="Fail the probe when slower than this.")


class EmbeddingsProbe(_ProbeBase):
    """Embeds a text and checks dimension and similarity to a reference."""

    kind: Literal["embeddings"]
    text: str = Field(..., min_length=1, description="The text to embed.")
    dimension: int | None = Field(None, ge=1, description="Expected vector length.")
    reference_text: str | None = Field(None, description="Text whose embedding the answer must be similar to.")
    min_similarity: float = Field(0.9, ge=-1, le=1, description="Minimum cosine similarity to the reference.")
    model: str | None = Field(None, description="Embedding model sent in the request; the target's model when absent.")


class RagProbe(_ProbeBase):
    """Asks the RAG endpoint and checks the sources or the answer."""

    kind: Literal["rag"]
    question: str = Field(..., min_length=1, description="The question sent to the RAG endpoint.")
    path: str = Field("/v1/rag", pattern=r"^/", description="RAG endpoint path on the target.")
    expect_source: str | None = Field(None, description="A document id that must be among the sources.")
    expect: ContentCheck | None = Field(None, description="Check on the answer text.")


class HttpProbe(_ProbeBase):
    """A plain HTTP check (health endpoints)."""

    kind: Literal["http"]
    path: str = Field("/health", description="Path on the target, or a full http:// URL on loopback/cluster.")
    status: int = Field(200, ge=100, le=599, description="Expected status code.")
    body_contains: str | None = Field(None, description="The response body contains this text (case-sensitive).")
    latency_budget: Duration | None = Field(None, description="Fail the probe when slower than this.")

    @field_validator("path")
    @classmethod
    def _path_or_url(cls, value: str) -> str:
        if not (value.startswith("/") or re.match(r"^https?://", value)):
            raise ValueError("path must start with '/' (on the target) or be a full http(s):// URL")
        return value


class PrometheusProbe(_ProbeBase):
    """A PromQL instant query compared with a threshold."""

    kind: Literal["prometheus"]
    url: str = Field(..., pattern=r"^https?://", description="Prometheus base URL.")
    query: str = Field(..., min_length=1, description="PromQL instant query.")
    op: Literal["<", "<=", ">", ">=", "=="] = Field(..., description="Comparison against threshold.")
    threshold: float = Field(..., description="The query's value is compared with this.")


class KubernetesProbe(_ProbeBase):
    """Ready replicas of a workload at least `min_ready`."""

    kind: Literal["kubernetes"]
    context: str | None = Field(
        None, description="kubeconfig context; the default kubeconfig, then in-cluster config, when absent."
    )
    api_url: str | None = Field(
        None, pattern=r"^https?://", description="API server URL used instead of a kubeconfig (as in Kubernetes faults)."
    )
    token_env: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="With api_url: environment variable holding the bearer token."
    )
    verify_tls: bool = Field(True, description="With api_url: verify the API server's TLS certificate.")
    namespace: str = Field("default", description="Namespace of the workload.")
    workload: str = Field(..., description="'deployment/NAME' or 'statefulset/NAME'.", pattern=r"^(deployment|statefulset)/.+")
    min_ready: int = Field(1, ge=0, description="The probe fails with fewer ready replicas.")

    @model_validator(mode="after")
    def _access(self) -> KubernetesProbe:
        if self.token_env is not None and self.api_url is None:
            raise ValueError("token_env is only used with api_url")
        if self.api_url is not None and self.context is not None:
            raise ValueError("set either context or api_url, not both")
        return self


Probe = Annotated[
    ChatProbe | EmbeddingsProbe | RagProbe | HttpProbe | PrometheusProbe | KubernetesProbe,
    Field(discriminator="kind"),
]
