"""OpenAI wire shapes the sandbox speaks: SSE chunks, full responses, error bodies.

Kept apart from the servers so the replica and the gateway build identical bodies.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Literal

__all__ = [
    "IDENTITY_HEADER",
    "SSE_DONE",
    "Kind",
    "completion_body",
    "envelope",
    "content_chunk",
    "error_body",
    "identity",
    "final_chunk",
    "models_body",
    "prompt_text",
    "sse",
    "usage",
    "usage_chunk",
]

IDENTITY_HEADER = "x-sandbox-pid"
"""Every component's /health names its pid here: the supervisor marks a component ready only when the
answer comes from that process, never from a stranger that took its port first."""


def identity() -> dict[str, str]:
    """The identity header of this process, for /health answers."""
    return {IDENTITY_HEADER: str(os.getpid())}


Kind = Literal["chat", "text"]
SSE_DONE = b"data: [DONE]\n\n"


def sse(payload: dict[str, Any]) -> bytes:
    """One server-sent event carrying a JSON payload."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def envelope(kind: Kind, request_id: str, model: str, chunk: bool) -> dict[str, Any]:
    """The fields every answer and chunk starts with."""
    if kind == "chat":
        obj = "chat.completion.chunk" if chunk else "chat.completion"
    else:
        obj = "text_completion"
    return {"id": request_id, "object": obj, "created": int(time.time()), "model": model}


def content_chunk(kind: Kind, request_id: str, model: str, text: str, first: bool) -> dict[str, Any]:
    """A chunk carrying generated text; the first chat chunk also carries the role."""
    body = envelope(kind, request_id, model, chunk=True)
    if kind == "chat":
        delta: dict[str, Any] = {"role": "assistant", "content": text} if first else {"content": text}
        body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]
    else:
        body["choices"] = [{"index": 0, "text": text, "logprobs": None, "finish_reason": None}]
    return body


def final_chunk(kind: Kind, request_id: str, model: str, finish_reason: str) -> dict[str, Any]:
    body = envelope(kind, request_id, model, chunk=True)
    if kind == "chat":
        body["choices"] = [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish_reason}]
    else:
        body["choices"] = [{"index": 0, "text": "", "logprobs": None, "finish_reason": finish_reason}]
    return body


def usage_chunk(kind: Kind, request_id: str, model: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The last chunk when `stream_options.include_usage` is set: no choices, only usage."""
    body = envelope(kind, request_id, model, chunk=True)
    body["choices"] = []
    body["usage"] = usage(prompt_tokens, completion_tokens)
    return body


def completion_body(
    kind: Kind, request_id: str, model: str, text: str, finish_reason: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """A non-streaming response; usage is always included."""
    body = envelope(kind, request_id, model, chunk=False)
    if kind == "chat":
        message = {"role": "assistant", "content": text}
        body["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}]
    else:
        body["choices"] = [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}]
    body["usage"] = usage(prompt_tokens, completion_tokens)
    return body


def error_body(message: str, type_: str, code: int | str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def models_body(models: list[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": "brownout-sandbox"} for m in models],
    }


def prompt_text(kind: Kind, body: dict[str, Any]) -> tuple[str, str]:
    """(whole prompt, the question to answer) of a chat or completions request body. ValueError if malformed."""
    if kind == "chat":
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise ValueError("'messages' must be a non-empty list of objects")
        texts = [str(m.get("content") or "") for m in messages]
        users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
        return "\n".join(texts), (users[-1] if users else texts[-1])
    prompt = body.get("prompt")
    if isinstance(prompt, list):
        prompt = " ".join(str(p) for p in prompt)
    if not isinstance(prompt, str):
        raise TypeError("'prompt' must be a string or a list of strings")
    return prompt, prompt
