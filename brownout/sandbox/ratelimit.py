"""Token-based rate limiting for the gateway: a token bucket on the clock you pass in."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TokenBucket"]


@dataclass
class TokenBucket:
    """`rate` tokens per second, bursting up to one second's worth. Pure apart from its own fields."""

    rate: float
    level: float = -1.0
    updated: float = 0.0

    def take(self, cost: float, now: float) -> float:
        """Spend `cost` if the bucket holds it and return 0, else return seconds to wait (Retry-After)."""
        if self.level < 0:
            self.level, self.updated = self.rate, now
        self.level = min(self.rate, self.level + (now - self.updated) * self.rate)
        self.updated = now
        cost = min(cost, self.rate)  # a request larger than the burst still gets through on a full bucket
        if self.level >= cost:
            self.level -= cost
            return 0.0
        return max(1.0, math.ceil((cost - self.level) / self.rate))
