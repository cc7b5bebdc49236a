"""Parse what a target sent back: SSE streams line by line, or one JSON body.

Pure and clock-free: the caller passes the arrival time of each line, so the
parser can be tested with hand-made timings. Content-carrying events are the
ones with non-empty generated text (role-only and empty deltas don't count),
per shared/metrics.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from brownout.loadgen.toolcalls import ToolCall, body_calls, merge_delta

__all__ = ["Reply", "StreamParser", "parse_body"]

_SSE_FIELDS = (b"event:", b"id:", b"retry:")


@dataclass
class Reply:
    """What was understood of a response body."""

    streamed: bool
    done: bool = False                  # stream: saw [DONE]; body: parsed completely
    content_events: int = 0             # content-carrying events (1 for a non-empty body)
    content_bytes: int = 0              # UTF-8 bytes of the streamed text (an upper bound on its tokens)
    t_first: float | None = None
    t_last: float | None = None
    itl: list[float] = field(default_factory=list)
    model: str | None = None
    served_by: str | None = None        # the `outcome.served_by.field` value, when the body or an event has it
    retrieval: str | None = None        # RAG: "vector", "keyword", ...
    input_tokens: int | None = None     # from usage
    output_tokens: int | None = None    # from usage
    malformed: str | None = None        # why the body could not be understood
    error_body: str | None = None       # the error object's message
    answer: list[str] = field(default_factory=list)  # generated text pieces (streams: only when kept)
    tool_calls: list[ToolCall] = field(default_factory=list)  # chat: the calls the answer asks for (toolcalls.py)

    @property
    def failed(self) -> bool:
        return self.malformed is not None or self.error_body is not None


class StreamParser:
    """Feeds SSE lines (with their arrival times) into a `Reply`; stop reading once `reply.failed`.

    `keep_text` keeps the generated text (multi-turn sessions resend it); off by
    default because it costs memory and time on the hot path. `served_by` is a
    dotted JSON path (`outcome.served_by.field`) read from every event.
    """

    def __init__(self, kind: str, keep_text: bool = False, served_by: str | None = None) -> None:
        self.kind = kind
        self.keep_text = keep_text
        self.served_by = tuple(served_by.split(".")) if served_by else ()
        self.reply = Reply(streamed=True)

    def feed(self, line: bytes, t: float) -> None:
        line = line.strip()
        if not line or line.startswith(b":") or line.startswith(_SSE_FIELDS):
            return
        reply = self.reply
        if not line.startswith(b"data:"):
            reply.malformed = f"not an SSE line: {line[:60]!r}"
            return
        data = line[5:].strip()
        if data == b"[DONE]":
            reply.done = True
            return
        try:
            event = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            reply.malformed = f"invalid JSON in event: {data[:60]!r}"
            return
        if not isinstance(event, dict):
            reply.malformed = "event is not a JSON object"
            return
        _common(reply, event, self.served_by)
        answer = _event_text(self.kind, event) if reply.error_body is None else ""
        chat_ok = self.kind == "chat" and reply.error_body is None
        calls = merge_delta(reply.tool_calls, _get(_first_choice(event), "delta")) if chat_ok else ""
        text = answer + calls  # a tool call's pieces are generated content too (toolcalls.py)
        if text:
            reply.content_bytes += len(text.encode())
            if self.keep_text and answer:
                reply.answer.append(answer)
            if reply.t_first is None:
                reply.t_first = t
            else:
                reply.itl.append(t - reply.t_last)  # type: ignore[operator]
            reply.t_last = t
            reply.content_events += 1


def parse_body(kind: str, body: bytes, served_by: str | None = None, answer: str | None = None) -> Reply:
    """A complete non-streamed response body; `served_by` as in StreamParser.

    `answer` (`load.http.answer`) is the dotted path of the generated text, list
    items by index (`choices.0.text`), instead of the kind's default place.
    """
    reply = Reply(streamed=False)
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        reply.malformed = f"invalid JSON body: {body[:60]!r}"
        return reply
    if not isinstance(data, dict):
        reply.malformed = "body is not a JSON object"
        return reply
    _common(reply, data, tuple(served_by.split(".")) if served_by else ())
    if reply.error_body is not None:
        return reply
    reply.done = True
    if answer is not None:
        value: Any = data
        for key in answer.split("."):
            value = value[int(key)] if isinstance(value, list) and key.isdigit() and int(key) < len(value) else _get(value, key)
        has_content = bool(value)
        if isinstance(value, str) and value:
            reply.answer.append(value)
    elif kind == "embeddings":
        items = data.get("data")
        has_content = bool(items) and isinstance(items, list) and bool(_get(items[0], "embedding"))
    elif kind == "rag":
        has_content = bool(data.get("answer"))
        retrieval = data.get("retrieval")
        reply.retrieval = retrieval if isinstance(retrieval, str) else _get(retrieval, "mode")
    else:
        choice = _first_choice(data)
        text = _get(_get(choice, "message"), "content") if kind == "chat" else _get(choice, "text")
        if kind == "chat":
            reply.tool_calls = body_calls(_get(choice, "message"))
        has_content = bool(text) or bool(reply.tool_calls)
        if has_content and isinstance(text, str):
            reply.answer.append(text)
    reply.content_events = 1 if has_content else 0
    return reply


def _common(reply: Reply, obj: dict[str, Any], served_by: tuple[str, ...] = ()) -> None:
    """Fields any event or body may carry: error, model, usage, and the served-by field when asked."""
    error = obj.get("error")
    if error:
        message = _get(error, "message") if isinstance(error, dict) else error
        reply.error_body = str(message or error)[:200]
    if isinstance(obj.get("model"), str):
        reply.model = obj["model"]
    if served_by:
        value: Any = obj
        for key in served_by:
            value = _get(value, key)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            reply.served_by = str(value)
    usage = obj.get("usage")
    if isinstance(usage, dict):
        if isinstance(usage.get("prompt_tokens"), int):
            reply.input_tokens = usage["prompt_tokens"]
        if isinstance(usage.get("completion_tokens"), int):
            reply.output_tokens = usage["completion_tokens"]


def _event_text(kind: str, event: dict[str, Any]) -> str:
    choice = _first_choice(event)
    if kind == "chat":
        delta = _get(choice, "delta")
        text = _get(delta, "content") or _get(delta, "reasoning_content")
    else:
        text = _get(choice, "text")
    return text if isinstance(text, str) else ""


def _first_choice(obj: dict[str, Any]) -> Any:
    choices = obj.get("choices")
    return choices[0] if isinstance(choices, list) and choices else None


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None
