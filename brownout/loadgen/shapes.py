"""Load shapes as pure piecewise-linear profiles: a level (rate or users) over time since the load's start.

Open-loop timers turn a rate profile into send times by time rescaling: arrivals
of a unit-rate process at u = 0, 1, 2, ... (constant) or at gamma-distributed
steps (Poisson) are mapped through the inverse of the cumulative rate
Lambda(t) = integral of rate from 0 to t. That gives exactly Lambda(T) constant
arrivals by time T, and a non-homogeneous Poisson process for Poisson.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from brownout.spec.load import RampShape, SpikeShape, StepShape, SweepShape

__all__ = ["Profile", "Segment", "flat", "profile_for"]


@dataclass(frozen=True)
class Segment:
    """Level changes linearly from `l0` at `t0` to `l1` at `t1` (t1 may be infinite: then l0 == l1)."""

    t0: float
    t1: float
    l0: float
    l1: float

    @property
    def area(self) -> float:
        if math.isinf(self.t1):
            return math.inf if self.l0 > 0 else 0.0
        return (self.l0 + self.l1) / 2 * (self.t1 - self.t0)

    def level(self, t: float) -> float:
        if math.isinf(self.t1) or self.t1 == self.t0:
            return self.l0
        return self.l0 + (self.l1 - self.l0) * (t - self.t0) / (self.t1 - self.t0)

    def time_for(self, r: float) -> float:
        """Offset x from t0 at which the area since t0 reaches r (r within this segment's area)."""
        slope = 0.0 if math.isinf(self.t1) else (self.l1 - self.l0) / (self.t1 - self.t0)
        # the root of l0*x + slope*x^2/2 = r written as 2r / (l0 + sqrt(...)): no cancellation for a flat or
        # nearly flat segment, and a ramp up from level 0 needs no special case
        root = self.l0 + math.sqrt(max(0.0, self.l0 * self.l0 + 2 * slope * r))
        return 2 * r / root if root > 0 else 0.0


@dataclass(frozen=True)
class Profile:
    """Contiguous segments from t=0; the last one runs forever at a constant level."""

    segments: tuple[Segment, ...]
    label: str

    def level(self, t: float) -> float:
        for seg in self.segments:
            if t < seg.t1:
                return seg.level(max(t, seg.t0))
        return self.segments[-1].l1

    def cumulative(self, t: float) -> float:
        """Integral of the level from 0 to t (expected arrivals by t for a rate profile)."""
        total = 0.0
        for seg in self.segments:
            if t <= seg.t0:
                break
            end = min(t, seg.t1)
            total += (seg.l0 + seg.level(end)) / 2 * (end - seg.t0)
        return total

    def inverse(self, u: float) -> float | None:
        """Smallest t with cumulative(t) == u; None when the level stays 0 before reaching u."""
        done = 0.0
        for seg in self.segments:
            area = seg.area
            if area > 0 and u < done + area:
                return seg.t0 + seg.time_for(u - done)
            done += area
        return None


def flat(level: float, label: str) -> Profile:
    return Profile((Segment(0.0, math.inf, level, level),), label)


def _hold(points: list[tuple[float, float]]) -> tuple[Segment, ...]:
    """Piecewise-constant segments from (start, level) points; the last holds forever."""
    ends = [t for t, _ in points[1:]] + [math.inf]
    return tuple(Segment(t, end, lv, lv) for (t, lv), end in zip(points, ends))


def _fmt(level: float, unit: str) -> str:
    return f"{level:.2f}{unit}" if unit else f"{level:g}"


def profile_for(shape: Any, unit: str = "/s") -> Profile:
    """The profile of a shape spec; `unit` only labels it ('/s' for rates, '' for users)."""
    if isinstance(shape, RampShape):
        a, b, over = float(shape.from_), float(shape.to), shape.over
        segs = ((Segment(0.0, over, a, b),) if over > 0 else ()) + (Segment(over, math.inf, b, b),)
        return Profile(segs, f"ramp({_fmt(a, unit)}->{_fmt(b, unit)} over {over:g}s)")
    if isinstance(shape, StepShape):
        points = [(s.at, float(s.level)) for s in shape.steps]
        steps = ",".join(f"{_fmt(lv, unit)}@{t:g}s" for t, lv in points)
        return Profile(_hold(points), f"step({steps})")
    if isinstance(shape, SpikeShape):
        base, peak = float(shape.base), float(shape.peak)
        points = [(0.0, base), (shape.at, peak), (shape.at + shape.for_, base)]
        if shape.at == 0:
            points = points[1:]
        return Profile(_hold(points), f"spike({_fmt(base, unit)}, {_fmt(peak, unit)} at {shape.at:g}s for {shape.for_:g}s)")
    if isinstance(shape, SweepShape):
        points = [(i * shape.hold, float(lv)) for i, lv in enumerate(shape.levels)]
        levels = ",".join(_fmt(lv, unit) for _, lv in points)
        return Profile(_hold(points), f"sweep({levels} each {shape.hold:g}s)")
    raise TypeError(f"not a shape: {shape!r}")
