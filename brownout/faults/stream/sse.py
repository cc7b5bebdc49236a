"""Just enough Server-Sent Events to count tokens in a stream we pass along.

The proxy must not re-encode what it forwards: events are split on their blank
line and kept as the exact upstream bytes. "Content token" follows
shared/metrics.md: an event that carries generated content, not a role-only or
empty delta, a usage-only chunk or `[DONE]`.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["EventSplitter", "event_data", "is_content_event", "is_done_event"]

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_CONTENT_KEYS = ("content", "reasoning_content", "text")


class EventSplitter:
    """Feed raw chunks, get back complete events (bytes, blank line included) as they close."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        self._pending += chunk
        events: list[bytes] = []
        start = 0
        for match in _BOUNDARY.finditer(self._pending):
            events.append(self._pending[start:match.end()])
            start = match.end()
        self._pending = self._pending[start:]
        return events

    def rest(self) -> bytes:
        """Bytes after the last complete event (an unterminated tail at end of stream)."""
        return self._pending


def event_data(event: bytes) -> str:
    """The event's `data:` lines joined with newlines, per the SSE spec."""
    lines = []
    for line in event.decode("utf-8", errors="replace").splitlines():
        if line.startswith("data:"):
            value = line[5:]
            lines.append(value[1:] if value.startswith(" ") else value)
    return "\n".join(lines)


def is_done_event(event: bytes) -> bool:
    return event_data(event).strip() == "[DONE]"


def is_content_event(event: bytes) -> bool:
    """True when a chat or completions chunk carries generated text in any choice."""
    data = event_data(event).strip()
    if not data or data == "[DONE]":
        return False
    try:
        payload: Any = json.loads(data)
    except ValueError:
        return False
    choices = payload.get("choices") if isinstance(payload, dict) else None
    for choice in choices or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        source = delta if isinstance(delta, dict) else choice
        if any(isinstance(source.get(key), str) and source.get(key) for key in _CONTENT_KEYS):
            return True
    return False
