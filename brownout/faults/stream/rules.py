"""Fault rules of the stream proxy: the control API's wire model and the per-request choice.

A rule lives in the proxy process only. Its `ttl` is relative (seconds from the
PUT), measured on the proxy's monotonic clock, so clock skew between harness and
proxy cannot stretch it and a killed harness cannot leave it forever.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RuleState", "RuleTable", "StreamRule"]

_MAX_TTL = 24 * 3600.0


class StreamRule(BaseModel):
    """One fault rule as PUT on `/faults/{id}`. Durations are seconds (floats) on the wire.

    Which parameters a mode reads is validated in the experiment spec
    (`brownout.spec.faults.stream`); here defaults are filled so
    the proxy never guesses.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["cut", "stall", "slow", "throttle", "unavailable", "error_body", "degrade"]
    share: float = Field(1.0, ge=0, le=1)
    ttl: float = Field(..., gt=0, le=_MAX_TTL)
    seed: int = 42
    paths: tuple[str, ...] = ("/v1/chat/completions", "/v1/completions")
    after_tokens: int = Field(1, ge=0)
    stall: float = Field(0.0, ge=0)
    slowdown: float = Field(1.0, ge=1)
    extra_delay: float = Field(0.0, ge=0)
    retry_after: float = Field(1.0, ge=0)
    burst: float | None = Field(None, gt=0)
    pause: float | None = Field(None, ge=0)
    degrade: Literal["wrong_answer", "truncate", "empty", "other_model"] | None = None
    model: str = "brownout-impostor"

    @model_validator(mode="after")
    def _degrade_named(self) -> StreamRule:
        if (self.mode == "degrade") != (self.degrade is not None):
            raise ValueError("degrade (the kind of wrong answer) goes with mode 'degrade', and only with it")
        return self

    @model_validator(mode="before")
    @classmethod
    def _fill(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        filled = dict(raw)
        if filled.get("after_tokens") is None:
            filled["after_tokens"] = 0 if filled.get("mode") == "error_body" else 1
        if filled.get("burst") is not None and filled.get("pause") is None:
            filled["pause"] = filled["burst"]
        return filled

    @property
    def retry_after_header(self) -> str:
        """Retry-After takes whole seconds (RFC 9110): round up so clients never retry early."""
        return str(max(0, math.ceil(self.retry_after)))

    def in_burst(self, elapsed: float) -> bool:
        """'unavailable' only: True while `elapsed` seconds after the PUT fall in a 503 burst."""
        if self.burst is None:
            return True
        return elapsed % (self.burst + (self.pause or 0.0)) < self.burst

    def matches(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.paths)


@dataclass
class RuleState:
    """A rule in the proxy's table, with its clock, seeded draw and counters."""

    id: str
    rule: StreamRule
    started: float
    expires: float
    rng: random.Random
    seen: int = 0
    affected: int = 0

    def active(self, now: float) -> bool:
        return now < self.expires

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule.model_dump(mode="json"),
            "active": self.active(now),
            "expires_in": round(max(0.0, self.expires - now), 3),
            "seen": self.seen,
            "affected": self.affected,
        }


class RuleTable:
    """The proxy's rules by id, in insertion order. Expired rules stay (inactive) so their counts can be read."""

    def __init__(self) -> None:
        self._rules: dict[str, RuleState] = {}

    def put(self, rule_id: str, rule: StreamRule, now: float) -> RuleState:
        """Create or replace; a replaced rule keeps its counters (a repeating fault accumulates)."""
        old = self._rules.pop(rule_id, None)
        state = RuleState(
            id=rule_id, rule=rule, started=now, expires=now + rule.ttl,
            rng=random.Random(f"{rule.seed}:{rule_id}"),
            seen=old.seen if old else 0, affected=old.affected if old else 0,
        )
        self._rules[rule_id] = state
        return state

    def get(self, rule_id: str) -> RuleState | None:
        return self._rules.get(rule_id)

    def delete(self, rule_id: str) -> RuleState | None:
        return self._rules.pop(rule_id, None)

    def all(self) -> list[RuleState]:
        return list(self._rules.values())

    def choose(self, path: str, now: float) -> RuleState | None:
        """The rule that acts on this request, if any.

        Every active rule matching the path counts the request as seen and draws
        once from its own seeded RNG (so a rule's choices do not depend on other
        rules); the first rule, by insertion order, whose draw selects it wins.
        """
        chosen: RuleState | None = None
        for state in self._rules.values():
            if not state.active(now) or not state.rule.matches(path):
                continue
            state.seen += 1
            selected = state.rng.random() < state.rule.share
            if selected and chosen is None:
                chosen = state
        return chosen
