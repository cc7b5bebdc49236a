"""A small deterministic tool-calling model for the sandbox replicas (OpenAI `tools` / `tool_calls`).

Given a chat request that offers `tools`, the model calls each offered function
once, in the order offered, one call per answer; once every one of them has been
called since the last user message, it writes its ordinary answer (which then
reads the tool results as part of its prompt). `tool_choice: "none"` answers at
once; `tool_choice: {"type": "function", "function": {"name": N}}` calls only N.
Arguments are filled from the function's JSON Schema `properties`: strings get
the user's question, integers and numbers its word count, booleans true, anything
else null. Everything is a function of the request, so the same workflow takes
the same steps on every run and on every replica (a failover changes nothing).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from brownout.sandbox.text import prompt_seed
from brownout.sandbox.wire import envelope, usage

__all__ = ["ToolCall", "call_body", "call_chunk", "next_call"]

_PIECE = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text

    def pieces(self, limit: int) -> list[str]:
        """The arguments as generated tokens (words with their spaces), at most `limit`: a call is never cut short."""
        words = _PIECE.findall(self.arguments) or [self.arguments]
        if len(words) > limit:
            words = words[: limit - 1] + ["".join(words[limit - 1:])]
        return words


def _offered(body: dict[str, Any]) -> list[dict[str, Any]]:
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list) or not all(
        isinstance(t, dict) and isinstance(t.get("function"), dict) and isinstance(t["function"].get("name"), str)
        for t in tools
    ):
        raise ValueError("'tools' must be a list of {type: function, function: {name, parameters}} objects")
    return [t["function"] for t in tools]


def _called_since_last_user(messages: list[Any]) -> set[str]:
    called: set[str] = set()
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "user":
            called.clear()
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                called.add(str(call["function"].get("name")))
    return called


def _argument(schema: Any, question: str) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "string":
        return question
    if kind in ("integer", "number"):
        return len(question.split())
    if kind == "boolean":
        return True
    return None


def next_call(body: dict[str, Any], question: str, seed: int) -> ToolCall | None:
    """The call this answer makes, or None for an ordinary answer. ValueError when `tools` is malformed."""
    functions = _offered(body)
    choice = body.get("tool_choice", "auto")
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        functions = [f for f in functions if f["name"] == wanted]
    done = _called_since_last_user(body.get("messages") or [])
    function = next((f for f in functions if f["name"] not in done), None)
    if function is None:
        return None
    properties = (function.get("parameters") or {}).get("properties") or {}
    arguments = json.dumps({name: _argument(schema, question) for name, schema in properties.items()})
    digest = prompt_seed(f"{question}\0{function['name']}\0{len(done)}", seed)
    return ToolCall(f"call_{digest:016x}", function["name"], arguments)


def call_chunk(request_id: str, model: str, call: ToolCall, piece: str, first: bool) -> dict[str, Any]:
    """A streamed piece of the call: the first names it (index, id, function name), the rest add arguments."""
    body = envelope("chat", request_id, model, chunk=True)
    part: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
    delta: dict[str, Any] = {"tool_calls": [part]}
    if first:
        part.update(id=call.id, type="function")
        part["function"] = {"name": call.name, "arguments": piece}
        delta = {"role": "assistant", "content": None, **delta}
    body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]
    return body


def call_body(request_id: str, model: str, call: ToolCall, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """A non-streamed answer that calls the tool."""
    body = envelope("chat", request_id, model, chunk=False)
    message = {
        "role": "assistant", "content": None,
        "tool_calls": [{"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}],
    }
    body["choices"] = [{"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls"}]
    body["usage"] = usage(prompt_tokens, completion_tokens)
    return body
