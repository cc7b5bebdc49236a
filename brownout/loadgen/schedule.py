"""Arrival timers: they only yield absolute send times; dispatch lives elsewhere.

A timer is a seeded iterator of run-clock times (infinite unless its rate drops
to 0 for good), so the same seed gives the same schedule and timers can be
swapped without touching the dispatcher. Shaped rates (ramp, step, spike,
sweep) go through `brownout.loadgen.shapes`; a token-rate target becomes a
request rate here, divided by the dataset's mean requested output length.
With N workers every worker walks the full schedule and takes arrivals
i, i+N, i+2N, ...: the total is the asked rate and no coordination is needed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from brownout.errors import LoadError
from brownout.spec.load import (
    Arrival,
    BurstArrival,
    ConcurrencyArrival,
    ConstantArrival,
    PoissonArrival,
)
from brownout.loadgen.shapes import Profile, flat, profile_for

__all__ = [
    "ArrivalTimer",
    "BurstTimer",
    "ConstantTimer",
    "PoissonTimer",
    "ShapedTimer",
    "nominal_rate",
    "share",
    "split_count",
    "timer_for",
    "users_profile",
]


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


@dataclass(frozen=True)
class ShapedTimer:
    """Constant or gamma arrivals under a time-varying rate, by rescaling through the profile's cumulative rate."""

    profile: Profile
    poisson: bool = False
    burstiness: float = 1.0
    seed: int = 42

    def times(self, start: float) -> Iterator[float]:
        rng = random.Random(self.seed)
        shape = self.burstiness
        u = 0.0
        for k in itertools.count():
            u = rng.gammavariate(shape, 1.0 / shape) + u if self.poisson else float(k)
            t = self.profile.inverse(u)
            if t is None:
                return
            yield start + t

    def __str__(self) -> str:
        return f"{'poisson' if self.poisson else 'constant'}@{self.profile.label}"


@dataclass(frozen=True)
class BurstTimer:
    """`size` arrivals at the same instant every `every` seconds, the first burst at `start`."""

    size: int
    every: float

    def times(self, start: float) -> Iterator[float]:
        for k in itertools.count():
            yield start + (k // self.size) * self.every

    def __str__(self) -> str:
        return f"burst@{self.size} every {self.every:g}s"


def nominal_rate(arrival: Arrival, mean_output_tokens: float | None = None) -> float | None:
    """The fixed request rate of an open-loop arrival (token targets converted); None when shaped or closed.

    Raises LoadError for a token-rate target when the dataset gives no output lengths.
    """
    if isinstance(arrival, BurstArrival):
        return arrival.size / arrival.every
    if not isinstance(arrival, (ConstantArrival, PoissonArrival)):
        return None
    if arrival.output_tokens_per_s is not None:
        if not mean_output_tokens:
            raise LoadError(
                "output_tokens_per_s needs the dataset's output lengths (max_tokens), and this dataset has none"
            )
        return arrival.output_tokens_per_s / mean_output_tokens
    return arrival.rate


def timer_for(arrival: Arrival, seed: int, mean_output_tokens: float | None = None) -> ArrivalTimer | None:
    """The open-loop timer for an arrival spec; None for closed loop."""
    if isinstance(arrival, ConcurrencyArrival):
        return None
    if isinstance(arrival, BurstArrival):
        return BurstTimer(arrival.size, arrival.every)
    poisson = isinstance(arrival, PoissonArrival)
    if arrival.shape is not None:
        return ShapedTimer(profile_for(arrival.shape), poisson, arrival.burstiness if poisson else 1.0, seed)
    rate = nominal_rate(arrival, mean_output_tokens)
    assert rate is not None
    if arrival.output_tokens_per_s is not None:  # label the target, not only the derived rate
        label = f"{arrival.output_tokens_per_s:g} tok/s = {rate:.2f}/s"
        return ShapedTimer(flat(rate, label), poisson, arrival.burstiness if poisson else 1.0, seed)
    return PoissonTimer(rate, arrival.burstiness, seed) if poisson else ConstantTimer(rate)


def users_profile(arrival: ConcurrencyArrival) -> Profile:
    """Closed loop: the number of users over time since the load's start."""
    if arrival.shape is None:
        return flat(float(arrival.users or 0), f"{arrival.users}")
    return profile_for(arrival.shape, unit="")


def share(times: Iterator[float], index: int, workers: int) -> Iterator[tuple[int, float]]:
    """Worker `index` of `workers`: (arrival number, time) for arrivals index, index+workers, ..."""
    return itertools.islice(enumerate(times), index, None, workers)


def split_count(total: int, index: int, workers: int) -> int:
    """Worker `index`'s part of `total` (users, in-flight slots); parts sum to total."""
    return total // workers + (1 if index < total % workers else 0)
