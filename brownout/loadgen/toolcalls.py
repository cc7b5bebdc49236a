"""OpenAI `tools` / `tool_calls` on the wire, as the load generator reads and writes them.

Pure. A streamed tool call arrives in pieces: the first delta of a call names its
`index`, `id` and `function.name`, later ones add to `function.arguments`; the
pieces are joined by index. The argument text counts as generated content (its
first piece is the step's first token), so a step that only calls tools is
timed like any answer and is never an `empty_completion`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from brownout.spec.load import Tool

__all__ = ["ToolCall", "assistant_message", "body_calls", "merge_delta", "tool_definitions", "tool_message"]


@dataclass
class ToolCall:
    """One call the model asked for; `arguments` is the JSON text as sent (never parsed: the tool result may quote it)."""

    index: int
    id: str = ""
    name: str = ""
    arguments: str = ""


def merge_delta(calls: list[ToolCall], delta: Any) -> str:
    """Add a stream delta's `tool_calls` pieces to `calls`; returns the generated text they carry."""
    pieces = delta.get("tool_calls") if isinstance(delta, dict) else None
    if not isinstance(pieces, list):
        return ""
    text = []
    for piece in pieces:
        if not isinstance(piece, dict):
            continue
        index = piece.get("index") if isinstance(piece.get("index"), int) else len(calls)
        call = next((c for c in calls if c.index == index), None)
        if call is None:
            call = ToolCall(index)
            calls.append(call)
        function = piece.get("function") if isinstance(piece.get("function"), dict) else {}
        if isinstance(piece.get("id"), str):
            call.id = piece["id"]
        if isinstance(function.get("name"), str):
            call.name += function["name"]
            text.append(function["name"])
        if isinstance(function.get("arguments"), str):
            call.arguments += function["arguments"]
            text.append(function["arguments"])
    return "".join(text)


def body_calls(message: Any) -> list[ToolCall]:
    """The `tool_calls` of a non-streamed answer's message."""
    calls: list[ToolCall] = []
    items = message.get("tool_calls") if isinstance(message, dict) else None
    for index, item in enumerate(items if isinstance(items, list) else []):
        merge_delta(calls, {"tool_calls": [{**item, "index": index}] if isinstance(item, dict) else []})
    return calls


def tool_definitions(tools: list[Tool]) -> list[dict[str, Any]]:
    """The request's `tools`: one function per declared tool."""
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in tools
    ]


def assistant_message(content: str, calls: list[ToolCall]) -> dict[str, Any]:
    """The answer as it goes back into the conversation: its text and the calls it made."""
    return {
        "role": "assistant",
        "content": content or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ],
    }


def tool_message(call: ToolCall, tools: list[Tool]) -> dict[str, Any]:
    """The experiment's result for one call: the tool's canned `result` or its `result_template` filled in;
    a call to a tool that was never offered gets an error result (the model's mistake, sent back as an agent would)."""
    tool = next((t for t in tools if t.name == call.name), None)
    if tool is None:
        content = json.dumps({"error": f"unknown tool {call.name!r}"})
    elif tool.result_template is not None:
        content = tool.result_template.replace("{{name}}", call.name).replace("{{arguments}}", call.arguments)
    else:
        content = tool.result if isinstance(tool.result, str) else json.dumps(tool.result)
    return {"role": "tool", "tool_call_id": call.id, "content": content}
