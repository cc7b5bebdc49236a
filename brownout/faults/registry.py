"""Every fault kind's driver, by its spec `kind`. An explicit tuple, no import-time discovery."""

from __future__ import annotations

from brownout.faults.base import FaultDriver
from brownout.faults.command import CommandDriver
from brownout.faults.gpu import GpuMemoryHogDriver
from brownout.faults.kubernetes import NodeCordonDriver, PodKillDriver, ScaleDownDriver
from brownout.faults.kv_flood import KvCacheFloodDriver
from brownout.faults.network import DeclaredProxyDriver, NetworkProxyDownDriver, NetworkToxicDriver
from brownout.faults.process import ProcessKillDriver, ProcessPauseDriver, ProcessSignalDriver
from brownout.faults.sandbox import (
    SandboxGpuOomDriver,
    SandboxRegionDownDriver,
    SandboxReplicaKillDriver,
    SandboxSlowEmbeddingsDriver,
)
from brownout.faults.sandbox_links import SandboxEmbedderLinkDriver
from brownout.faults.stream import StreamFaultDriver

__all__ = ["DRIVERS"]

_DRIVER_CLASSES: tuple[type[FaultDriver], ...] = (
    SandboxReplicaKillDriver,
    SandboxGpuOomDriver,
    SandboxRegionDownDriver,
    SandboxSlowEmbeddingsDriver,
    StreamFaultDriver,
    NetworkToxicDriver,
    NetworkProxyDownDriver,
    PodKillDriver,
    ScaleDownDriver,
    NodeCordonDriver,
    GpuMemoryHogDriver,
    KvCacheFloodDriver,
    ProcessKillDriver,
    ProcessPauseDriver,
    ProcessSignalDriver,
    CommandDriver,
    SandboxEmbedderLinkDriver,  # run set-up, not in the spec: registered so `brownout recover` can undo it
    DeclaredProxyDriver,        # run set-up too: the experiment's `proxies:`
)

DRIVERS: dict[str, type[FaultDriver]] = {cls.kind: cls for cls in _DRIVER_CLASSES}
