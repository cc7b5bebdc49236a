"""Human units in experiment files: durations, rates and sizes.

Experiment files always spell the unit (`500ms`, `20/s`, `4GiB`): a bare number
is refused because `timeout: 30` is ambiguous to the next reader. Parsers raise
ValueError with a message meant for the person who wrote the file; pydantic
turns it into a located SpecError. Formatters give the shortest exact unit
string, so a spec dumped to JSON or YAML loads back to the same values.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any, Callable

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo, WithJsonSchema

__all__ = [
    "FROM_FILE",
    "MAX_RATE",
    "MAX_SIZE",
    "Duration",
    "Rate",
    "Size",
    "format_duration",
    "format_rate",
    "format_size",
    "parse_duration",
    "parse_rate",
    "parse_size",
]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# [0-9], not \d: `４s` (a full-width digit) is no duration, and float() would take it.
_DURATION_PART = re.compile(r"([0-9]{1,20}(?:\.[0-9]{1,30})?)(ms|s|m|h)")
_DURATION = re.compile(r"^(?:[0-9]{1,20}(?:\.[0-9]{1,30})?(?:ms|s|m|h))+$")
_RATE = re.compile(r"^([0-9]{1,20}(?:\.[0-9]{1,30})?)[ \t]*/[ \t]*(s|m|h)$")
_SIZE_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
}
_SIZE = re.compile(r"^([0-9]{1,20}(?:\.[0-9]{1,30})?)[ \t]*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")
_MAX_SECONDS = 7 * 24 * 3600.0
MAX_RATE = 1_000_000.0
"""Events per second; far above what one run can send, low enough that no schedule overflows."""
MAX_SIZE = 2**50
"""Bytes (1 PiB); above any GPU or event size, low enough to stay an exact integer everywhere."""


def _text(value: Any, what: str, example: str, unit: str = "s") -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected a {what} like {example}, got {type(value).__name__}")
    if isinstance(value, (int, float)):
        if value == 0:
            return "0"
        raise ValueError(f"a bare number is ambiguous: write the unit, e.g. '{value}{unit}' ({what} like {example})")
    text = value.strip()
    return text if len(text) <= 40 else text[:37] + "..."  # a longer one is invalid anyway: keep errors short


def parse_duration(value: Any) -> float:
    """`500ms`, `30s`, `2m`, `1h30m` -> seconds (float). `0` is allowed without unit."""
    text = _text(value, "duration", "500ms, 30s, 2m or 1h30m")
    if text == "0":
        return 0.0
    if not _DURATION.match(text):
        raise ValueError(f"'{text}' is not a duration: use a number and a unit (ms, s, m, h), e.g. 500ms, 30s, 2m")
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
    return _at_most(seconds, *_limit("duration", text))


def _limit(what: str, text: str) -> tuple[float, str, str]:
    limit, limit_text = _LIMITS[what]
    return limit, f"'{text}'", limit_text


def _at_most(value: float, limit: float, shown: str, limit_text: str) -> float:
    """Refuse runaway numbers here, as a located error, before they overflow a schedule or memory later."""
    if value > limit:
        raise ValueError(f"{shown} {limit_text}; brownout refuses runaway values")
    return value


def parse_rate(value: Any) -> float:
    """`20/s`, `600/m`, `3600/h` -> events per second (float)."""
    text = _text(value, "rate", "20/s or 600/m", "/s")
    if text == "0":
        return 0.0
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a rate: write count/unit, e.g. 20/s, 600/m, 3600/h")
    count, unit = float(match.group(1)), match.group(2)
    return _at_most(count / _DURATION_UNITS[unit], *_limit("rate", text))


def parse_size(value: Any) -> int:
    """`512MiB`, `4GiB`, `1.5GB`, `100B` -> bytes (int)."""
    text = _text(value, "size", "512MiB or 4GiB", "MiB")
    if text == "0":
        return 0
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a size: write a number and a unit (B, KB, MB, GB, KiB, MiB, GiB), e.g. 4GiB")
    return int(_at_most(float(match.group(1)) * _SIZE_UNITS[match.group(2)], *_limit("size", text)))


def _decimal(number: float) -> str:
    """Plain decimal text of a float's shortest repr (`1e-07` -> `0.0000001`): the parsers take no exponents."""
    text = format(Decimal(repr(float(number))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _whole(number: float) -> bool:
    return abs(number - round(number)) <= 1e-9 * max(1.0, abs(number))


def format_duration(seconds: float) -> str:
    """Shortest exact unit string for seconds (`1h`, `90s`, `1500ms`, `0.2ms`)."""
    if seconds == 0:
        return "0"
    for unit in ("h", "m", "s"):
        count = seconds / _DURATION_UNITS[unit]
        if count >= 1 and _whole(count):
            return f"{round(count)}{unit}"
    return f"{_decimal(round(seconds * 1000, 9))}ms"


def format_rate(per_second: float) -> str:
    """`10/s`; a rate that is whole only per minute or hour keeps that unit (`1/m`, not `0.0166…/s`)."""
    if per_second == 0:
        return "0"
    for unit in ("s", "m", "h"):
        count = per_second * _DURATION_UNITS[unit]
        if _whole(count):
            return f"{round(count)}/{unit}"
    return f"{_decimal(per_second)}/s"


def format_size(size: int) -> str:
    """The largest unit that divides the size exactly: `16GiB`, `512MiB`, `1500MB`, `1000001B`."""
    if size == 0:
        return "0"
    unit = max((u for u, n in _SIZE_UNITS.items() if size % n == 0), key=_SIZE_UNITS.__getitem__)
    return f"{size // _SIZE_UNITS[unit]}{unit}"


_LIMITS = {"duration": (_MAX_SECONDS, "is longer than a week"), "rate": (MAX_RATE, "is faster than 1000000/s"),
           "size": (MAX_SIZE, "is larger than 1PiB")}

FROM_FILE = "brownout-file"
"""Validation context marker: values come from a user's file, so bare numbers are refused."""


def _unit_validator(parse: Callable[[Any], Any], number_type: type, what: str) -> BeforeValidator:
    """Numbers pass when Python code builds a model; from a file they need a unit.

    Negative and non-finite numbers are refused either way: no duration, rate
    or size can be negative, and the formatters could not write them back.
    """

    def validate(value: Any, info: ValidationInfo) -> Any:
        from_file = isinstance(info.context, dict) and info.context.get(FROM_FILE)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError(f"a {what} must be a finite number, got {value}")
            if value < 0:
                raise ValueError(f"a {what} cannot be negative, got {value}")
            if not from_file:
                limit, limit_text = _LIMITS[what]
                return number_type(_at_most(value, limit, str(value), limit_text))
        return parse(value)

    return BeforeValidator(validate)


def _unit_json(pattern: str, examples: list[str]) -> dict[str, Any]:
    """How files write a unit value: text with its unit, or a bare 0 (zero needs none)."""
    return {"anyOf": [{"type": "string", "pattern": pattern}, {"const": 0}], "examples": examples}


Duration = Annotated[
    float,
    _unit_validator(parse_duration, float, "duration"),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(_unit_json(r"^(0|(\d+(\.\d+)?(ms|s|m|h))+)$", ["500ms", "30s", "2m"])),
]
"""Seconds as float in Python; a unit string (`30s`) in YAML and JSON."""

Rate = Annotated[
    float,
    _unit_validator(parse_rate, float, "rate"),
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema(_unit_json(r"^(0|\d+(\.\d+)?\s*/\s*(s|m|h))$", ["20/s", "600/m"])),
]
"""Events per second as float in Python; `count/unit` in YAML and JSON."""

Size = Annotated[
    int,
    _unit_validator(parse_size, int, "size"),
    PlainSerializer(format_size, return_type=str),
    WithJsonSchema(_unit_json(r"^(0|\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB))$", ["512MiB", "4GiB"])),
]
"""Bytes as int in Python; a unit string (`4GiB`) in YAML and JSON."""
