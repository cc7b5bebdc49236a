"""Silent degradation: rewrite an answer's content while the response stays a valid 200.

Pure functions over one SSE event or one JSON body (OpenAI chat or completions
shape). Modes:
- `wrong_answer`: every content token becomes a filler word (same count, same timing);
- `truncate`: the answer stops after `after_tokens` tokens with `finish_reason: stop`;
- `empty`: every content token becomes empty text (the load counts it `empty_completion`);
- `other_model`: the answer is kept, the `model` field names `model` instead.
Events that are not JSON chunks (`[DONE]`, comments) pass through untouched.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["DEGRADE_MODES", "FILLER", "degrade_body", "degrade_event", "stop_event"]

DEGRADE_MODES = frozenset({"wrong_answer", "truncate", "empty", "other_model"})
FILLER = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
"""Words of a wrong answer: no golden set expects them."""


def _filler(text: str, index: int) -> str:
    """A filler word in place of `text`, keeping its leading space so the answer still reads as words."""
    if not text:
        return text
    space = " " if text[0].isspace() else ""
    words = [FILLER[(index + i) % len(FILLER)] for i in range(max(1, len(text.split())))]
    return space + " ".join(words)


def _choice_text_key(choice: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """Where a choice's text is: (`delta` or `message` or the choice, key)."""
    for holder_key in ("delta", "message"):
        holder = choice.get(holder_key)
        if isinstance(holder, dict) and isinstance(holder.get("content"), str):
            return holder, "content"
    if isinstance(choice.get("text"), str):
        return choice, "text"
    return None


def _rewrite(payload: dict[str, Any], mode: str, index: int, model: str, keep_words: int | None) -> dict[str, Any]:
    if mode == "other_model":
        if "model" in payload:
            payload["model"] = model
        return payload
    for choice in payload.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        found = _choice_text_key(choice)
        if found is None:
            continue
        holder, key = found
        if mode == "wrong_answer":
            holder[key] = _filler(holder[key], index)
        elif mode == "empty":
            holder[key] = ""
        elif mode == "truncate" and keep_words is not None:
            holder[key] = " ".join(holder[key].split()[:keep_words])
            choice["finish_reason"] = "stop"
    return payload


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _object(data: str | bytes) -> dict[str, Any] | None:
    """`data` parsed as a JSON object; None when it is not one (the caller keeps the original)."""
    try:
        payload = json.loads(data)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def degrade_event(data: str, mode: str, index: int, model: str) -> bytes | None:
    """The SSE event for a chunk's `data` rewritten by `mode` (`index`: content tokens before it);
    None when `data` is not a JSON object (the caller forwards the original bytes)."""
    payload = _object(data)
    if payload is None:
        return None
    return b"data: " + _dumps(_rewrite(payload, mode, index, model, None)) + b"\n\n"


def stop_event(data: str) -> bytes:
    """A final chunk like `data`'s (same id, model, object) with no text and `finish_reason: stop`: how a truncated
    stream ends."""
    payload = json.loads(data)
    for choice in payload.get("choices") or ():
        if isinstance(choice, dict):
            found = _choice_text_key(choice)
            if found is not None:
                found[0][found[1]] = ""
            choice["finish_reason"] = "stop"
    payload.pop("usage", None)
    return b"data: " + _dumps(payload) + b"\n\n"


def degrade_body(body: bytes, mode: str, after_tokens: int, model: str) -> bytes | None:
    """A non-streamed JSON answer rewritten by `mode` (truncate keeps `after_tokens` words); None when it is not one."""
    payload = _object(body)
    return None if payload is None else _dumps(_rewrite(payload, mode, 0, model, after_tokens))
