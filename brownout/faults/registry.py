"""Every fault kind's driver, by its spec `kind`. An explicit tuple, no import-time discovery."""

from __future__ import annotations

from brownout.faults.base import FaultDriver

__all__ = ["DRIVERS"]

_DRIVER_CLASSES: tuple[type[FaultDriver], ...] = (
)

DRIVERS: dict[str, type[FaultDriver]] = {cls.kind: cls for cls in _DRIVER_CLASSES}
