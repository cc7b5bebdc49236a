"""Which requests and probe runs belong to which window (phase or time bucket).

A request belongs to the window that contains its *anchor*: `t_sched` when the
request has one (open loop), else `t_send` (closed loop). Anchoring on the
schedule keeps a request the target made slow in the phase it was meant for,
and places dropped requests (never sent, but scheduled) in their phase too.
Rows with neither mark cannot be placed and belong to no window. Windows are
half-open, `[start, end)`, so adjacent buckets never share a request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from brownout.rundata.timeline import Timeline

__all__ = ["PHASES", "Window", "anchor_times", "bucket_windows", "in_window", "phase_windows", "probes_in_window"]

PHASES = ("baseline", "fault", "recovery", "run")
"""Scored windows: the three scored phases, and `run` = baseline start to recovery end."""


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


def anchor_times(records: pd.DataFrame) -> pd.Series:
    """Run-clock time that places each request: `t_sched`, else `t_send` (NaN when neither)."""
    sched = pd.to_numeric(records["t_sched"], errors="coerce")
    send = pd.to_numeric(records["t_send"], errors="coerce")
    return sched.where(sched.notna(), send)


def in_window(records: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The requests anchored in `[window.start, window.end)`."""
    anchor = anchor_times(records)
    return records[(anchor >= window.start) & (anchor < window.end)]


def probes_in_window(probes: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The probe runs that started in `[window.start, window.end)`."""
    t = pd.to_numeric(probes["t"], errors="coerce")
    return probes[(t >= window.start) & (t < window.end)]


def phase_windows(timeline: Timeline) -> dict[str, Window]:
    """Windows of the scored phases the run reached; `run` spans the first to the last of them.

    A phase the run never reached (aborted early) is absent, so its metrics are "no data".
    """
    found = {p.name: Window(p.name, p.start, p.end) for p in timeline.phases if p.name in PHASES}
    if found:
        found["run"] = Window("run", min(w.start for w in found.values()), max(w.end for w in found.values()))
    return found


def bucket_windows(start: float, end: float, width: float, *, full_only: bool = False) -> list[Window]:
    """Consecutive `width`-second windows from `start`; the last is cut at `end` unless `full_only`."""
    if width <= 0 or end <= start:
        return []
    count = math.floor((end - start) / width + 1e-9) if full_only else math.ceil((end - start) / width - 1e-9)
    return [
        Window(f"bucket{i}", start + i * width, min(start + (i + 1) * width, end))
        for i in range(count)
    ]
