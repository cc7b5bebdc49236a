"""Fault specs, one module per family; `Fault` is their discriminated union."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from brownout.spec.faults.command import CommandFault, CommandStep
from brownout.spec.faults.common import FaultBase, Schedule, Selection
from brownout.spec.faults.gpu import GpuMemoryHog
from brownout.spec.faults.kubernetes import KubernetesNodeCordon, KubernetesPodKill, KubernetesScaleDown
from brownout.spec.faults.load import LoadKvCacheFlood
from brownout.spec.faults.network import DeclaredProxy, NetworkProxyDown, NetworkToxic
from brownout.spec.faults.process import ProcessKill, ProcessPause, ProcessSelect, ProcessSignal
from brownout.spec.faults.sandbox import (
    SandboxBadRollout,
    SandboxGpuOom,
    SandboxRegionDown,
    SandboxReplicaKill,
    SandboxSlowEmbeddings,
)
from brownout.spec.faults.stream import StreamFault

__all__ = [
    "CommandFault",
    "CommandStep",
    "DeclaredProxy",
    "Fault",
    "FaultBase",
    "GpuMemoryHog",
    "KubernetesNodeCordon",
    "KubernetesPodKill",
    "KubernetesScaleDown",
    "LoadKvCacheFlood",
    "NetworkProxyDown",
    "NetworkToxic",
    "ProcessKill",
    "ProcessPause",
    "ProcessSelect",
    "ProcessSignal",
    "SandboxBadRollout",
    "SandboxGpuOom",
    "SandboxRegionDown",
    "SandboxReplicaKill",
    "SandboxSlowEmbeddings",
    "Schedule",
    "Selection",
    "StreamFault",
]

Fault = Annotated[
    SandboxReplicaKill | SandboxGpuOom | SandboxRegionDown | SandboxSlowEmbeddings | SandboxBadRollout
    | StreamFault
    | NetworkToxic | NetworkProxyDown
    | KubernetesPodKill | KubernetesScaleDown | KubernetesNodeCordon
    | GpuMemoryHog
    | LoadKvCacheFlood
    | ProcessKill | ProcessPause | ProcessSignal
    | CommandFault,
    Field(discriminator="kind"),
]
