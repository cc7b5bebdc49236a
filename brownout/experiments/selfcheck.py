"""The machine half of the harness self-check: CPU pressure, steal and load over the load's run.

Read from Linux's /proc at the start and the end of the load (two reads, no
thread): `/proc/pressure/cpu` (PSI: total microseconds in which some runnable
task waited for a CPU), `/proc/stat` (steal ticks) and the load average. The
load process measures its own CPU share and event-loop lag (brownout.loadgen.health).
Scoring judges both against `scoring.self_check` (brownout.reports.selfcheck).
Where a file is missing (another OS, an old kernel) the figure is None: not measured.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from brownout.loadgen.progress import LoadProgress
from brownout.rundata.harness import HarnessObservations

__all__ = ["MachineReading", "observations", "read_machine"]

_PSI = Path("/proc/pressure/cpu")
_STAT = Path("/proc/stat")


@dataclass(frozen=True)
class MachineReading:
    wall: float                     # time.monotonic()
    pressure_us: int | None         # PSI cpu "some" total, microseconds
    steal: int | None               # steal ticks, all CPUs
    total: int | None               # all ticks, all CPUs


def _pressure() -> int | None:
    try:
        for line in _PSI.read_text().splitlines():
            if line.startswith("some "):
                return int(dict(part.split("=") for part in line.split()[1:])["total"])
    except (OSError, ValueError, KeyError):
        return None
    return None


def _ticks() -> tuple[int | None, int | None]:
    try:
        first = _STAT.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None, None
    if first[:1] != ["cpu"]:
        return None, None
    values = [int(v) for v in first[1:9]]   # user nice system idle iowait irq softirq steal
    return (values[7] if len(values) > 7 else None), sum(values)


def read_machine() -> MachineReading:
    steal, total = _ticks()
    return MachineReading(time.monotonic(), _pressure(), steal, total)


def observations(start: MachineReading, end: MachineReading, load: LoadProgress | None) -> HarnessObservations:
    """What the self-check judges, from two machine readings and the load's last status."""
    wall = end.wall - start.wall
    pressure = None
    if start.pressure_us is not None and end.pressure_us is not None and wall > 0:
        pressure = min(1.0, (end.pressure_us - start.pressure_us) / (wall * 1e6))
    steal = None
    if None not in (start.steal, end.steal, start.total, end.total) and end.total > start.total:  # type: ignore[operator]
        steal = (end.steal - start.steal) / (end.total - start.total)  # type: ignore[operator]
    cores = os.cpu_count() or 1
    return HarnessObservations(
        load_cpu_share=load.cpu_share if load else None,
        loop_lag_p99=load.loop_lag_p99 if load else None,
        loop_lag_max=load.loop_lag_max if load else None,
        cpu_pressure=pressure,
        steal=steal,
        load_per_core=os.getloadavg()[0] / cores,
        cores=cores,
    )
