"""Judging an answer's text against a `ContentCheck` (pure)."""

from __future__ import annotations

import json
import re

from brownout.spec.probes import ContentCheck
from brownout.spec.jsonschema import schema_error

__all__ = ["content_failure"]

_EXCERPT = 60


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 3] + "..."


def content_failure(check: ContentCheck, text: str) -> str | None:
    """Why `text` fails `check` ("does not contain 'Paris' (got '...')"); None when it passes."""
    if check.contains is not None:
        if check.contains.lower() in text.lower():
            return None
        return f"does not contain {check.contains!r} (got {_excerpt(text)!r})"
    if check.regex is not None:
        if re.search(check.regex, text):
            return None
        return f"does not match /{check.regex}/ (got {_excerpt(text)!r})"
    if check.equals is not None:
        if text.strip() == check.equals.strip():
            return None
        return f"is not {check.equals.strip()!r} (got {_excerpt(text)!r})"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"is not JSON ({exc.msg} at {exc.pos}; got {_excerpt(text)!r})"
    error = schema_error(document, check.json_schema)
    return None if error is None else f"fails the JSON schema: {error}"
