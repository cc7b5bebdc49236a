"""Which LLM replica the gateway tries, in which order: the two profiles as pure choices.

Resilient: healthy, not overloaded primary replicas, home region first, least
loaded first. Fragile: plain round-robin over the home region, blind to health
(a load balancer without readiness checks), so faults show through.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Upstream", "fragile_pick", "resilient_plan"]


@dataclass
class Upstream:
    """One replica as the gateway sees it. `waiting` comes from its last /health poll."""

    name: str
    region: str
    url: str
    model: str
    healthy: bool = False
    in_flight: int = 0
    waiting: int = 0

    @property
    def load(self) -> int:
        return self.in_flight + self.waiting


def resilient_plan(
    upstreams: list[Upstream], model: str, home: str, overload_waiting: int, exclude: frozenset[str] = frozenset()
) -> list[Upstream]:
    """Healthy replicas of `model` whose queue is shorter than `overload_waiting`, best first."""
    usable = [
        u for u in upstreams
        if u.model == model and u.healthy and u.waiting < overload_waiting and u.name not in exclude
    ]
    return sorted(usable, key=lambda u: (u.region != home, u.load, u.name))


def fragile_pick(upstreams: list[Upstream], model: str, home: str, counter: int) -> Upstream | None:
    """Round-robin over the home region's replicas of `model`, healthy or not."""
    pool = [u for u in upstreams if u.model == model and u.region == home]
    return pool[counter % len(pool)] if pool else None

