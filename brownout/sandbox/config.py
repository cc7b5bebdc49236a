"""The sandbox's knobs, one dataclass that crosses process boundaries as JSON.

It mirrors `brownout.spec.target.SandboxTarget` field for field (plus
model names and the seed) but imports nothing from the spec package: the sandbox
is a stand-alone target and must stay importable without the harness.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

__all__ = ["SandboxConfig"]


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the supervisor and its components need. Seconds and bytes throughout."""

    profile: Literal["resilient", "fragile"] = "resilient"
    regions: tuple[str, ...] = ("us-east", "eu-west")
    replicas_per_region: int = 2
    cold_start: float = 3.0
    gpu_memory: int = 16 * 2**30
    kv_cache_tokens: int = 16384
    max_running: int = 8
    prefill_per_token: float = 0.0002
    decode_step: float = 0.02
    embedding_per_token: float = 0.0002
    oom_behaviour: Literal["error", "crash"] = "error"
    rate_limit_tokens_per_s: float | None = None
    primary_model: str = "sandbox-large"
    fallback_model: str = "sandbox-small"
    seed: int = 42

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(self.regions))
        if self.profile not in ("resilient", "fragile"):
            raise ValueError(f"profile must be 'resilient' or 'fragile', not {self.profile!r}")
        if not self.regions:
            raise ValueError("at least one region is needed")
        if self.oom_behaviour not in ("error", "crash"):
            raise ValueError(f"oom_behaviour must be 'error' or 'crash', not {self.oom_behaviour!r}")

    @property
    def home_region(self) -> str:
        """The gateway's own region: first in the list, preferred when healthy."""
        return self.regions[0]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SandboxConfig:
        return cls(**json.loads(text))

    @classmethod
    def from_target(cls, target: Any, **overrides: Any) -> SandboxConfig:
        """Build from any object with SandboxTarget's attribute names (duck-typed, no spec import)."""
        names = {f.name for f in fields(cls)}
        values = {n: getattr(target, n) for n in names if hasattr(target, n)}
        values.update(overrides)
        return cls(**values)
