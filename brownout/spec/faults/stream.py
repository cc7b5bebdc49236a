"""Faults on the LLM response stream, applied by brownout's stream fault proxy.

The proxy sits between the load and an OpenAI-compatible target and, for a
seeded share of requests, breaks the stream the way real serving stacks do:
cut it, stall it, slow it, throttle, answer 503 bursts or a 200 with an error.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.faults.common import FaultBase
from brownout.spec.units import Duration

__all__ = ["STREAM_MODE_PARAMETERS", "Degradation", "StreamFault", "StreamMode"]

StreamMode = Literal["cut", "stall", "slow", "throttle", "unavailable", "error_body", "degrade"]
Degradation = Literal["wrong_answer", "truncate", "empty", "other_model"]
"""How a silently degraded answer is wrong (the stream fault's `degrade`, the sandbox bad rollout's `answer`)."""

STREAM_MODE_PARAMETERS: dict[str, frozenset[str]] = {
    "cut": frozenset({"after_tokens"}),
    "stall": frozenset({"after_tokens", "stall"}),
    "slow": frozenset({"slowdown", "extra_delay"}),
    "throttle": frozenset({"retry_after"}),
    "unavailable": frozenset({"burst", "pause"}),
    "error_body": frozenset({"after_tokens"}),
    "degrade": frozenset({"degrade", "after_tokens", "model"}),
}
"""Which optional parameters each mode reads; setting any other is a spec error."""

_DEFAULT_TTL = 600.0
_TTL_MARGIN = 30.0


class StreamFault(FaultBase):
    """Break a share of LLM responses in the stream fault proxy in front of the target."""

    kind: Literal["stream.fault"]
    mode: StreamMode = Field(
        ...,
        description=(
            "'cut': end the SSE stream after `after_tokens` content tokens, without [DONE]. "
            "'stall': pause the stream for `stall` after `after_tokens` tokens, then resume. "
            "'slow': widen every inter-token gap by `slowdown` (factor) and/or `extra_delay`. "
            "'throttle': answer 429 with Retry-After without calling the target. "
            "'unavailable': answer 503, in bursts of `burst` separated by `pause` when set. "
            "'error_body': answer 200 with an OpenAI-style error object (an SSE error event for "
            "streaming requests), after `after_tokens` real tokens when set. "
            "'degrade': silent degradation, status 200 and a well-formed answer (SSE or JSON) whose content is wrong "
            "as `degrade` says."
        ),
    )
    share: float = Field(
        1.0, ge=0, le=1, description="Share of matching requests the fault acts on, drawn per request from the experiment seed."
    )
    paths: list[str] = Field(
        default_factory=lambda: ["/v1/chat/completions", "/v1/completions"],
        min_length=1,
        description="Request path prefixes the fault applies to; health checks and model lists pass through untouched.",
    )
    after_tokens: int | None = Field(
        None, ge=0, description="cut, stall, error_body: content tokens delivered before the fault acts (cut, stall default 1; error_body default 0)."
    )
    stall: Duration | None = Field(None, description="stall: how long the stream pauses (required for 'stall').")
    degrade: Degradation | None = Field(
        None, description="degrade (required): 'wrong_answer' (every token a filler word), 'truncate' (stop after "
        "`after_tokens` tokens with finish_reason stop), 'empty' (no text), 'other_model' (the answer names `model`).",
    )
    model: str | None = Field(None, min_length=1, description="degrade other_model: the model the answers name (default brownout-impostor).")
    slowdown: float | None = Field(None, ge=1, le=1000, description="slow: factor applied to every inter-token gap, e.g. 3 for three times slower.")
    extra_delay: Duration | None = Field(None, description="slow: fixed delay added to every inter-token gap.")
    retry_after: Duration | None = Field(
        None, description="throttle: value of the Retry-After header, rounded up to whole seconds (default 1s)."
    )
    burst: Duration | None = Field(None, description="unavailable: length of each 503 burst; 503s for as long as the fault is active when absent.")
    pause: Duration | None = Field(None, description="unavailable: healthy gap between bursts (defaults to `burst`).")
    ttl: Duration | None = Field(
        None,
        description=(
            "Safety net: the proxy drops the rule this long after injection even if rollback never arrives "
            "(a killed harness). Defaults to the schedule's duration plus 30s, or 10m without a duration."
        ),
    )

    @model_validator(mode="after")
    def _parameters_fit_mode(self) -> "StreamFault":
        allowed = STREAM_MODE_PARAMETERS[self.mode]
        optional = ("after_tokens", "stall", "slowdown", "extra_delay", "retry_after", "burst", "pause", "degrade", "model")
        stray = [name for name in optional if getattr(self, name) is not None and name not in allowed]
        if stray:
            raise ValueError(f"mode '{self.mode}' does not use {', '.join(stray)}; it reads {', '.join(sorted(allowed))}")
        if self.mode == "degrade" and self.degrade is None:
            raise ValueError("mode 'degrade' needs degrade: wrong_answer, truncate, empty or other_model")
        if self.after_tokens is not None and self.mode == "degrade" and self.degrade != "truncate":
            raise ValueError("after_tokens goes with degrade 'truncate' only")
        if self.model is not None and self.degrade != "other_model":
            raise ValueError("model goes with degrade 'other_model' only")
        if self.mode == "stall" and not self.stall:
            raise ValueError("mode 'stall' needs stall (how long the stream pauses), e.g. stall: 5s")
        if self.mode == "slow" and not ((self.slowdown or 1.0) > 1.0 or self.extra_delay):
            raise ValueError("mode 'slow' needs slowdown > 1 and/or extra_delay > 0")
        if self.mode == "unavailable" and self.pause is not None and self.burst is None:
            raise ValueError("pause needs burst: 503s come in bursts separated by pauses")
        if self.burst is not None and self.burst <= 0:
            raise ValueError("burst must be longer than 0")
        if self.ttl is not None and self.ttl <= 0:
            raise ValueError("ttl must be longer than 0")
        return self

    @property
    def effective_ttl(self) -> float:
        """Seconds the proxy keeps the rule at most, from the moment it is injected."""
        if self.ttl is not None:
            return self.ttl
        if self.schedule.duration is not None:
            return self.schedule.duration + _TTL_MARGIN
        return _DEFAULT_TTL
