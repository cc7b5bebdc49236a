"""Synthetic probes: small checks run on their own interval, outside the load."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from brownout.spec.files import DataFile
from brownout.spec.base import Name, StrictModel
from brownout.spec.units import Duration

__all__ = [
    "CHECK_KINDS",
    "ChatProbe",
    "ContentCheck",
    "EmbeddingsProbe",
    "GoldenItem",
    "GoldenProbe",
    "HttpProbe",
    "KubernetesProbe",
    "Probe",
    "PrometheusProbe",
    "RagProbe",
    "first_problem",
]


CHECK_KINDS = ("contains", "not_contains", "regex", "equals", "json_schema", "number", "max_length")
"""The check vocabulary, in the order `content_failure` tries them."""


class ContentCheck(StrictModel):
    """Exactly one way of judging an answer's text (canaries, golden items and load requests share it)."""

    contains: str | None = Field(None, description="The answer contains this text (case-insensitive).")
    not_contains: str | None = Field(None, description="The answer does not contain this text (case-insensitive).")
    regex: str | None = Field(None, description="The answer matches this regular expression.")
    equals: str | None = Field(None, description="The answer equals this text after trimming (exact match).")
    json_schema: dict | None = Field(None, description="The answer parses as JSON and validates against this schema.")
    number: float | None = Field(
        None, description="The last number in the answer is within `tolerance` of this (as graders of math answers read it)."
    )
    tolerance: float | None = Field(None, ge=0, description="With number: largest allowed absolute difference (default 0).")
    max_length: int | None = Field(None, ge=0, description="The answer, trimmed, has at most this many characters.")

    @model_validator(mode="after")
    def _exactly_one(self) -> ContentCheck:
        given = [k for k in CHECK_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"set exactly one of {', '.join(CHECK_KINDS)}")
        if self.tolerance is not None and self.number is None:
            raise ValueError("tolerance goes with number, and only with it")
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


class GoldenItem(StrictModel):
    """One line of a golden-set file: a prompt (or a chat history) and the checks its answer must pass."""

    id: str | None = Field(None, min_length=1, description="Item id in results; `line N` when absent.")
    prompt: str | None = Field(None, min_length=1, description="The user message.")
    messages: list[dict[str, str]] | None = Field(
        None, min_length=1, description="A whole chat history (`role`, `content`) instead of prompt."
    )
    checks: list[ContentCheck] = Field(..., min_length=1, description="Every check must pass for the item to be correct.")
    max_tokens: int | None = Field(None, ge=1, description="max_tokens of this item's request; the probe's when absent.")

    @model_validator(mode="after")
    def _one_prompt(self) -> GoldenItem:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("set exactly one of prompt or messages")
        return self


class GoldenProbe(_ProbeBase):
    """Cycles through a golden set (a JSONL file of prompts with expected answers), one item per interval;
    every answer is judged and counted in the `accuracy` metric."""

    kind: Literal["golden"]
    path: DataFile = Field(..., description="Path, relative to the experiment file, of the JSONL golden set (see probes/README.md).")
    max_tokens: int = Field(64, ge=1, description="max_tokens of each item's request unless the item sets it.")
    model: str | None = Field(None, description="Model sent in the request; the target's model when absent.")


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
    ChatProbe | GoldenProbe | EmbeddingsProbe | RagProbe | HttpProbe | PrometheusProbe | KubernetesProbe,
    Field(discriminator="kind"),
]


def first_problem(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    """(field, message) of a validation error's first problem, e.g. ("checks[0].regex", "regex does not compile: ...").

    For data files validated outside the experiment loader (golden sets, load datasets), whose
    errors are located by the caller at file:line.
    """
    error = exc.errors(include_url=False)[0]
    field = prefix
    for part in error["loc"]:
        if isinstance(part, int):
            field += f"[{part}]"
        elif "-" in str(part) or "[" in str(part):
            continue  # pydantic's union branch tags ("function-after[...]") are not fields
        else:
            field += f".{part}" if field else str(part)
    message = error["msg"].removeprefix("Value error, ")
    return field or "(item)", message
