"""Human units in experiment files: durations, rates and sizes.

Experiment files always spell the unit (`500ms`, `20/s`, `4GiB`): a bare number
is refused because `timeout: 30` is ambiguous to the next reader. Parsers raise
ValueError with a message meant for the person who wrote the file; pydantic
turns it into a located SpecError.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo, WithJsonSchema

__all__ = [
    "FROM_FILE",
    "Duration",
    "Rate",
    "Size",
    "format_duration",
    "format_rate",
    "parse_duration",
    "parse_rate",
    "parse_size",
]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$")
_RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*/\s*(s|m|h)$")
_SIZE_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
_MAX_SECONDS = 7 * 24 * 3600.0


def _text(value: Any, what: str, example: str, unit: str = "s") -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a {what} like {example}, got {type(value).__name__}")
    if isinstance(value, (int, float)):
        if value == 0:
            return "0"
        raise ValueError(f"a bare number is ambiguous: write the unit, e.g. '{value}{unit}' ({what} like {example})")
    return value.strip()


def parse_duration(value: Any) -> float:
    """`500ms`, `30s`, `2m`, `1h30m` -> seconds (float). `0` is allowed without unit."""
    text = _text(value, "duration", "500ms, 30s, 2m or 1h30m")
    if text == "0":
        return 0.0
    if not _DURATION.match(text):
        raise ValueError(f"'{text}' is not a duration: use a number and a unit (ms, s, m, h), e.g. 500ms, 30s, 2m")
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
    if seconds > _MAX_SECONDS:
        raise ValueError(f"'{text}' is longer than a week; brownout refuses runaway durations")
    return seconds


def parse_rate(value: Any) -> float:
    """`20/s`, `600/m`, `3600/h` -> events per second (float)."""
    text = _text(value, "rate", "20/s or 600/m", "/s")
    if text == "0":
        return 0.0
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a rate: write count/unit, e.g. 20/s, 600/m, 3600/h")
    count, unit = float(match.group(1)), match.group(2)
    return count / _DURATION_UNITS[unit]


def parse_size(value: Any) -> int:
    """`512MiB`, `4GiB`, `1.5GB`, `100B` -> bytes (int)."""
    text = _text(value, "size", "512MiB or 4GiB", "MiB")
    if text == "0":
        return 0
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a size: write a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 4GiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def format_duration(seconds: float) -> str:
    """Shortest exact unit string for seconds, so a spec round-trips through JSON."""
    if seconds == 0:
        return "0"
    ms = round(seconds * 1000, 3)
    if ms % 60000 == 0:
        return f"{int(ms // 60000)}m"
    if ms % 1000 == 0:
        return f"{int(ms // 1000)}s"
    return f"{ms:g}ms"


def format_rate(per_second: float) -> str:
    return f"{per_second:g}/s"


FROM_FILE = "brownout-file"
"""Validation context marker: values come from a user's file, so bare numbers are refused."""


def _unit_validator(parse, number_type):
    """Numbers pass when Python code builds a model; from a file they need a unit."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        from_file = isinstance(info.context, dict) and info.context.get(FROM_FILE)
        if not from_file and isinstance(value, (int, float)) and not isinstance(value, bool):
            return number_type(value)
        return parse(value)

    return BeforeValidator(validate)


Duration = Annotated[
    float,
    _unit_validator(parse_duration, float),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(0|(\d+(\.\d+)?(ms|s|m|h))+)$", "examples": ["500ms", "30s", "2m"]}),
]
"""Seconds as float in Python; a unit string (`30s`) in YAML and JSON."""

Rate = Annotated[
    float,
    _unit_validator(parse_rate, float),
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(0|\d+(\.\d+)?\s*/\s*(s|m|h))$", "examples": ["20/s", "600/m"]}),
]
"""Events per second as float in Python; `count/unit` in YAML and JSON."""

Size = Annotated[
    int,
    _unit_validator(parse_size, int),
    PlainSerializer(lambda b: f"{b}B", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(0|\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB))$", "examples": ["512MiB", "4GiB"]}),
]
"""Bytes as int in Python; a unit string (`4GiB`) in YAML and JSON."""
