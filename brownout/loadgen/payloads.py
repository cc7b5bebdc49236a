"""Request bodies for each request kind (OpenAI-compatible, plus brownout's RAG endpoint)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brownout.loadgen.datasets import Prompt

__all__ = ["RequestSpec", "build_request", "streams"]

_PATHS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
    "rag": "/v1/rag",
}


@dataclass(frozen=True)
class RequestSpec:
    kind: str
    path: str
    body: dict[str, Any]
    stream: bool


def streams(kind: str, stream: bool) -> bool:
    """Only chat and completions stream; embeddings and RAG answer in one body."""
    return stream and kind in ("chat", "completions")


def build_request(kind: str, prompt: Prompt, model: str, stream: bool, temperature: float) -> RequestSpec:
    """The path and JSON body for one request. Streaming asks for usage in the last event."""
    stream = streams(kind, stream)
    body: dict[str, Any]
    if kind == "embeddings":
        body = {"model": model, "input": prompt.text}
    elif kind == "rag":
        body = {"question": prompt.text}
    else:
        body = {"model": model, "temperature": temperature, "stream": stream}
        if kind == "chat":
            body["messages"] = list(prompt.messages) or [{"role": "user", "content": prompt.text}]
        else:
            body["prompt"] = prompt.text
        if prompt.max_tokens is not None:
            body["max_tokens"] = prompt.max_tokens
        if stream:
            body["stream_options"] = {"include_usage": True}
    return RequestSpec(kind, _PATHS[kind], body, stream)
