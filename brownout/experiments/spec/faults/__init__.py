"""Fault specs, one module per family; `Fault` is their discriminated union."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from brownout.experiments.spec.faults.command import CommandFault, CommandStep
from brownout.experiments.spec.faults.common import FaultBase, Schedule, Selection
from brownout.experiments.spec.faults.gpu import GpuMemoryHog
from brownout.experiments.spec.faults.kubernetes import KubernetesNodeCordon, KubernetesPodKill, KubernetesScaleDown
from brownout.experiments.spec.faults.load import LoadKvCacheFlood
from brownout.experiments.spec.faults.network import DeclaredProxy, NetworkProxyDown, NetworkToxic
from brownout.experiments.spec.faults.process import ProcessKill, ProcessPause, ProcessSelect, ProcessSignal
from brownout.experiments.spec.faults.sandbox import (
    SandboxGpuOom,
    SandboxRegionDown,
    SandboxReplicaKill,
    SandboxSlowEmbeddings,
)
from brownout.experiments.spec.faults.stream import StreamFault

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
    "SandboxGpuOom",
    "SandboxRegionDown",
    "SandboxReplicaKill",
    "SandboxSlowEmbeddings",
    "Schedule",
    "Selection",
    "StreamFault",
]

Fault = Annotated[
    SandboxReplicaKill | SandboxGpuOom | SandboxRegionDown | SandboxSlowEmbeddings
    | StreamFault
    | NetworkToxic | NetworkProxyDown
    | KubernetesPodKill | KubernetesScaleDown | KubernetesNodeCordon
    | GpuMemoryHog
    | LoadKvCacheFlood
    | ProcessKill | ProcessPause | ProcessSignal
    | CommandFault,
    Field(discriminator="kind"),
]
