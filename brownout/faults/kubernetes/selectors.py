"""Kubernetes label selectors: parse the string form, match labels, tell a narrow one from a broad one.

The grammar is the API server's (`k8s.io/apimachinery/pkg/labels`): comma-separated
requirements `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>n`, `k<n`.
`!=` and `notin` also match objects that lack the key, as on a real cluster.
The safety rails use `is_narrowing` to refuse selectors that would match everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["Requirement", "is_narrowing", "parse_selector", "selector_for", "selector_matches"]

Operator = Literal["exists", "!", "=", "!=", "in", "notin", "gt", "lt"]

_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = rf"(?:[a-z0-9](?:[-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_NAME}"
_VALUE = rf"(?:{_NAME})?"
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")
_EQUALITY = re.compile(rf"^({_KEY})\s*(==|=|!=)\s*({_VALUE})$")
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s*\((.*)\)$")
_ORDER = re.compile(rf"^({_KEY})\s*([<>])\s*(-?\d+)$")
_SET_VALUE = re.compile(rf"^{_VALUE}$")


@dataclass(frozen=True)
class Requirement:
    """One term of a selector."""

    key: str
    op: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if not present or not re.fullmatch(r"-?\d+", value or ""):
            return False
        bound = int(self.values[0])
        return int(value) > bound if self.op == "gt" else int(value) < bound


def _split_terms(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ')' in selector '{text}'")
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise ValueError(f"unbalanced '(' in selector '{text}'")
    terms.append("".join(current))
    return [t.strip() for t in terms]


def _parse_term(term: str) -> Requirement:
    if match := _EQUALITY.match(term):
        key, op, value = match.groups()
        return Requirement(key, "!=" if op == "!=" else "=", (value,))
    if match := _SET.match(term):
        key, op, inner = match.groups()
        values = tuple(v.strip() for v in inner.split(","))
        if not inner.strip() or not all(_SET_VALUE.match(v) for v in values):
            raise ValueError(f"bad value list in selector term '{term}'")
        return Requirement(key, op, tuple(sorted(set(values))))  # type: ignore[arg-type]
    if match := _ORDER.match(term):
        key, op, number = match.groups()
        return Requirement(key, "gt" if op == ">" else "lt", (number,))
    if match := _EXISTS.match(term):
        negated, key = match.groups()
        return Requirement(key, "!" if negated else "exists")
    raise ValueError(f"cannot parse selector term '{term}'")


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """Parse a label selector; the empty string is the empty selector (matches everything)."""
    if not text.strip():
        return ()
    terms = _split_terms(text)
    if any(not t for t in terms):
        raise ValueError(f"empty term in selector '{text}'")
    return tuple(_parse_term(t) for t in terms)


def selector_matches(requirements: tuple[Requirement, ...], labels: Mapping[str, str]) -> bool:
    return all(r.matches(labels) for r in requirements)


def is_narrowing(requirements: tuple[Requirement, ...]) -> bool:
    """True when at least one term picks objects by what they have (`=`, `in`, `exists`, `>`, `<`).

    A selector made only of exclusions (`!=`, `notin`, `!k`) matches every object
    that merely lacks a label, which is how "kill everything" slips through.
    """
    return any(r.op not in ("!=", "notin", "!") for r in requirements)


def selector_for(labels: Mapping[str, str]) -> str:
    """The exact-match selector for a label set (`a=1,b=2`), sorted for stable journals."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
