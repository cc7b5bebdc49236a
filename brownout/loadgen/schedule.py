"""Arrival timers: they only yield absolute send times; dispatch lives elsewhere.

A timer is a seeded, infinite iterator of run-clock times, so the same seed gives
the same schedule and timers can be swapped without touching the dispatcher.
With N workers every worker walks the full schedule and takes arrivals
i, i+N, i+2N, ...: the total is the asked rate and no coordination is needed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from brownout.experiments.spec.load import (
    Arrival,
    ConcurrencyArrival,
    ConstantArrival,
    PoissonArrival,
)

__all__ = ["ArrivalTimer", "ConstantTimer", "PoissonTimer", "share", "split_count", "timer_for"]


class ArrivalTimer(Protocol):
    def times(self, start: float) -> Iterator[float]: ...


@dataclass(frozen=True)
class ConstantTimer:
    """One arrival every 1/rate seconds, the first at `start`."""

    rate: float

    def times(self, start: float) -> Iterator[float]:
        for k in itertools.count():
            yield start + k / self.rate

    def __str__(self) -> str:
        return f"constant@{self.rate:.2f}/s"


@dataclass(frozen=True)
class PoissonTimer:
    """Gamma inter-arrival times with mean 1/rate; shape 1 is Poisson, below 1 burstier."""

    rate: float
    burstiness: float = 1.0
    seed: int = 42

    def times(self, start: float) -> Iterator[float]:
        rng = random.Random(self.seed)
        shape = self.burstiness
        scale = 1.0 / (self.rate * shape)
        t = start
        while True:
            t += rng.gammavariate(shape, scale)
            yield t

    def __str__(self) -> str:
        return f"poisson@{self.rate:.2f}/s"


def timer_for(arrival: Arrival, seed: int) -> ArrivalTimer | None:
    """The open-loop timer for an arrival spec; None for closed loop."""
    if isinstance(arrival, ConstantArrival):
        return ConstantTimer(arrival.rate)
    if isinstance(arrival, PoissonArrival):
        return PoissonTimer(arrival.rate, arrival.burstiness, seed)
    assert isinstance(arrival, ConcurrencyArrival)
    return None


def share(times: Iterator[float], index: int, workers: int) -> Iterator[tuple[int, float]]:
    """Worker `index` of `workers`: (arrival number, time) for arrivals index, index+workers, ..."""
    return itertools.islice(enumerate(times), index, None, workers)


def split_count(total: int, index: int, workers: int) -> int:
    """Worker `index`'s part of `total` (users, in-flight slots); parts sum to total."""
    return total // workers + (1 if index < total % workers else 0)
