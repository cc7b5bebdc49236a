"""Which LLM replica the gateway tries, in which order: the two profiles as pure choices.

Resilient: healthy, not overloaded primary replicas, home region first, least
loaded first. Fragile: plain round-robin over the home region, blind to health
(a load balancer without readiness checks), so faults show through.

Session affinity (requests naming a session in SESSION_HEADER): both profiles
send a session's turns to the replica that served its previous turn, for its
warm prefix cache. The resilient gateway treats that as a preference: when the
replica is down or overloaded the turn goes wherever the plan says (the other
region during a region outage) and the session is pinned there; the turn
carries the whole conversation, so nothing is lost. The fragile gateway pins a
session for good to the replica of its first turn (sticky sessions without
failover): once that replica is gone, every later turn fails and the
conversation is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["SESSION_HEADER", "Affinity", "Upstream", "fragile_pick", "resilient_plan"]

SESSION_HEADER = "x-session-id"


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


@dataclass
class Affinity:
    """Session id -> name of the replica it is pinned to; the least recently used are forgotten beyond `capacity`."""

    capacity: int = 10000
    pins: OrderedDict[str, str] = field(default_factory=OrderedDict)

    def get(self, session: str | None) -> str | None:
        if session is None or session not in self.pins:
            return None
        self.pins.move_to_end(session)
        return self.pins[session]

    def pin(self, session: str | None, replica: str) -> None:
        if session is None:
            return
        self.pins[session] = replica
        self.pins.move_to_end(session)
        while len(self.pins) > self.capacity:
            self.pins.popitem(last=False)


def resilient_plan(
    upstreams: list[Upstream], model: str, home: str, overload_waiting: int, exclude: frozenset[str] = frozenset(),
    pinned: str | None = None,
) -> list[Upstream]:
    """Healthy replicas of `model` whose queue is shorter than `overload_waiting`, best first: the session's
    `pinned` replica when it is among them, then home region first, least loaded first."""
    usable = [
        u for u in upstreams
        if u.model == model and u.healthy and u.waiting < overload_waiting and u.name not in exclude
    ]
    return sorted(usable, key=lambda u: (u.name != pinned, u.region != home, u.load, u.name))


def fragile_pick(upstreams: list[Upstream], model: str, home: str, counter: int, pinned: str | None = None) -> Upstream | None:
    """The session's `pinned` replica whatever its health, else round-robin over the home region's replicas of `model`."""
    stuck = [u for u in upstreams if u.model == model and u.name == pinned]
    if stuck:
        return stuck[0]
    pool = [u for u in upstreams if u.model == model and u.region == home]
    return pool[counter % len(pool)] if pool else None

