"""Every fault kind's driver, by its spec `kind`. An explicit tuple, no import-time discovery."""

from __future__ import annotations

from brownout.faults.base import FaultDriver
from brownout.faults.sandbox import (
    SandboxGpuOomDriver,
    SandboxRegionDownDriver,
    SandboxReplicaKillDriver,
    SandboxSlowEmbeddingsDriver,
)
from brownout.faults.stream import StreamFaultDriver

__all__ = ["DRIVERS"]

_DRIVER_CLASSES: tuple[type[FaultDriver], ...] = (
    SandboxReplicaKillDriver,
    SandboxGpuOomDriver,
    SandboxRegionDownDriver,
    SandboxSlowEmbeddingsDriver,
    StreamFaultDriver,
)

DRIVERS: dict[str, type[FaultDriver]] = {cls.kind: cls for cls in _DRIVER_CLASSES}
