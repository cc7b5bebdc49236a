"""The answers the proxy makes up: OpenAI-style error objects, as JSON or as an SSE event.

Shapes follow what OpenAI and vLLM send, so clients under test take their real
error paths: `{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import json

__all__ = ["error_event", "error_json", "wants_stream"]


def error_json(message: str, type_: str, code: str | int | None) -> bytes:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return json.dumps(body, separators=(",", ":")).encode()


def error_event(message: str, type_: str, code: str | int | None) -> bytes:
    """An SSE error event followed by `[DONE]`, as vLLM ends a stream that failed mid-way."""
    return b"data: " + error_json(message, type_, code) + b"\n\ndata: [DONE]\n\n"


def wants_stream(body: bytes) -> bool:
    """True when the request body is JSON with `"stream": true` (how the client asked to be answered)."""
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return False
    return isinstance(payload, dict) and payload.get("stream") is True
