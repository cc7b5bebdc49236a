"""Judging an answer's text against a `ContentCheck` (pure, beside the JSON-Schema subset it uses).

One vocabulary for every place an answer is judged: chat and RAG canaries,
golden-set items and checked load requests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from brownout.spec.probes import ContentCheck
from brownout.spec.jsonschema import schema_error

__all__ = ["checks_failure", "content_failure", "last_number"]

_EXCERPT = 60
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 3] + "..."


def last_number(text: str) -> float | None:
    """The last number written in `text` ("2 + 2 = 4." -> 4.0; thousands separators allowed); None without one."""
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def content_failure(check: ContentCheck, text: str) -> str | None:
    """Why `text` fails `check` ("does not contain 'Paris' (got '...')"); None when it passes."""
    got = f"(got {_excerpt(text)!r})"
    if check.contains is not None:
        return None if check.contains.lower() in text.lower() else f"does not contain {check.contains!r} {got}"
    if check.not_contains is not None:
        return None if check.not_contains.lower() not in text.lower() else f"contains {check.not_contains!r} {got}"
    if check.regex is not None:
        return None if re.search(check.regex, text) else f"does not match /{check.regex}/ {got}"
    if check.equals is not None:
        return None if text.strip() == check.equals.strip() else f"is not {check.equals.strip()!r} {got}"
    if check.number is not None:
        return _number_failure(check.number, check.tolerance or 0.0, text, got)
    if check.max_length is not None:
        length = len(text.strip())
        return None if length <= check.max_length else f"is {length} characters, over {check.max_length} {got}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"is not JSON ({exc.msg} at {exc.pos}; got {_excerpt(text)!r})"
    error = schema_error(document, check.json_schema)
    return None if error is None else f"fails the JSON schema: {error}"


def _number_failure(expected: float, tolerance: float, text: str, got: str) -> str | None:
    value = last_number(text)
    if value is None:
        return f"has no number {got}"
    if abs(value - expected) <= tolerance:
        return None
    within = f" ± {tolerance:g}" if tolerance else ""
    return f"ends with number {value:g}, not {expected:g}{within} {got}"


def checks_failure(checks: Iterable[ContentCheck], text: str) -> str | None:
    """The first failing check's reason over all `checks` (all must pass); None when every one passes.
    An empty answer is never correct, whatever the checks (`not_contains` alone would pass it)."""
    if not text.strip():
        return "is empty"
    for check in checks:
        failure = content_failure(check, text)
        if failure is not None:
            return failure
    return None
