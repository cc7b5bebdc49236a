"""The load process's own health, measured from inside it: CPU share and event-loop wake-up lag.

Why: a load generator that is short of CPU sends late and notices responses
late, so its latency figures grow with its own slowness, not the target's.
Every worker process runs a `LoopMonitor` greenlet that asks the gevent hub to
wake it every `TICK` seconds and records how late it woke; the harness
self-check (shared/metrics.md) judges the worst worker's p99 against a limit.

The monitor's histogram has fixed bins, so memory stays flat over hour-long runs.
Nothing here imports gevent at module level: the runner reads `LoopHealth`
from the status file without pulling the load process's event loop in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["TICK", "LoopHealth", "LoopMonitor", "worst_health"]

TICK = 0.01               # seconds between the monitor's wake-ups
_REPORT_EVERY = 50        # ticks between reports to the sink (~0.5 s)
_FINE = 0.00025           # bin width below 100 ms
_COARSE = 0.01            # bin width from 100 ms to 10 s
_FINE_BINS = 400
_BINS = _FINE_BINS + 990


@dataclass(frozen=True)
class LoopHealth:
    cpu_share: float | None       # CPU seconds per wall second since the monitor started (1.0 = one core)
    loop_lag_p99: float | None    # seconds; the upper edge of the histogram bin holding the p99
    loop_lag_max: float | None    # seconds


def worst_health(healths: Iterable[LoopHealth]) -> dict[str, float | None]:
    """The worst figure of each kind across workers, as LoadProgress fields."""
    items = list(healths)

    def worst(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return max(known) if known else None

    return {
        "cpu_share": worst([h.cpu_share for h in items]),
        "loop_lag_p99": worst([h.loop_lag_p99 for h in items]),
        "loop_lag_max": worst([h.loop_lag_max for h in items]),
    }


def _bin(lag: float) -> int:
    if lag < _FINE * _FINE_BINS:
        return max(0, int(lag / _FINE))
    return min(_BINS - 1, _FINE_BINS + int((lag - _FINE * _FINE_BINS) / _COARSE))


def _upper_edge(index: int) -> float:
    if index < _FINE_BINS:
        return (index + 1) * _FINE
    return _FINE * _FINE_BINS + (index - _FINE_BINS + 1) * _COARSE


class LoopMonitor:
    """Wake every TICK on the gevent hub, histogram the lateness, report to `report` every ~0.5 s."""

    def __init__(self, report: Callable[[LoopHealth], None]) -> None:
        self.report = report
        self.counts = [0] * _BINS
        self.samples = 0
        self.max_lag = 0.0
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()

    def record(self, lag: float) -> None:
        self.counts[_bin(lag)] += 1
        self.samples += 1
        self.max_lag = max(self.max_lag, lag)

    def health(self) -> LoopHealth:
        wall = time.perf_counter() - self._wall0
        cpu = (time.process_time() - self._cpu0) / wall if wall > 0 else None
        if not self.samples:
            return LoopHealth(cpu, None, None)
        rank, seen = 0.99 * self.samples, 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return LoopHealth(cpu, _upper_edge(index), self.max_lag)
        return LoopHealth(cpu, _upper_edge(_BINS - 1), self.max_lag)

    def run(self, stop: Callable[[], bool]) -> None:
        """The greenlet body: until `stop()` is true."""
        import gevent

        ticks = 0
        while not stop():
            t0 = time.perf_counter()
            gevent.sleep(TICK)
            self.record(max(0.0, time.perf_counter() - t0 - TICK))
            ticks += 1
            if ticks % _REPORT_EVERY == 0:
                self.report(self.health())
        self.report(self.health())
