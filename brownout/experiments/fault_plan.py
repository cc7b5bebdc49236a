"""When each fault goes in and comes out: a pure function of the spec and the seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = ["PlannedWindow", "plan_fault_windows"]


@dataclass(frozen=True)
class PlannedWindow:
    fault: Any           # the fault spec model
    index: int           # repetition number, from 0
    inject_at: float     # run-clock seconds
    rollback_at: float   # run-clock seconds

    @property
    def entry_id(self) -> str:
        return f"{self.fault.name}#{self.index}"


def plan_fault_windows(faults: Sequence[Any], phase_start: float, phase_length: float, seed: int) -> list[PlannedWindow]:
    """Expand schedules (start, duration, repeat_every, jitter) into windows inside the fault phase.

    A fault without a duration stays until the phase ends. Repetitions that would
    start after the phase ends are dropped; a window is clipped to the phase end.
    Jitter is drawn from a RNG seeded by the experiment seed and the fault name.
    """
    phase_end = phase_start + phase_length
    windows = []
    for fault in faults:
        sched = fault.schedule
        rng = random.Random(f"{seed}:{fault.name}")
        index = 0
        start = sched.start
        while True:
            jitter = rng.uniform(0, sched.jitter) if (sched.jitter and index > 0) else 0.0
            inject_at = phase_start + start + jitter
            if inject_at >= phase_end:
                break
            length = sched.duration if sched.duration is not None else phase_length
            windows.append(PlannedWindow(fault, index, inject_at, min(inject_at + length, phase_end)))
            if sched.repeat_every is None:
                break
            index += 1
            start += sched.repeat_every
    return sorted(windows, key=lambda w: (w.inject_at, w.fault.name))
