"""The run clock: one time axis for every process of a run.

Every time mark is seconds since the Unix epoch, computed in each process as
`wall_anchor + (time.monotonic() - mono_anchor)` with one anchor per process.
Intervals between marks therefore have monotonic precision, and records from
several processes (and the runner's fault timeline) share one axis.
"""

from __future__ import annotations

import time

__all__ = ["RunClock"]


class RunClock:
    """Monotonic intervals, wall-clock placement: `now()` is epoch seconds that never jump.

    `anchor` is the (wall, monotonic) pair that maps one onto the other. A
    process on the same machine that reuses another's anchor shares its axis
    exactly (CLOCK_MONOTONIC is system-wide); on another machine it must not.
    """

    def __init__(self, anchor: tuple[float, float] | None = None) -> None:
        self._wall, self._mono = anchor if anchor is not None else (time.time(), time.monotonic())

    @property
    def anchor(self) -> tuple[float, float]:
        return self._wall, self._mono

    def now(self) -> float:
        return self._wall + (time.monotonic() - self._mono)

    def from_monotonic(self, mono: float) -> float:
        return self._wall + (mono - self._mono)
