"""Fault specs, one module per family; `Fault` is their discriminated union."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from brownout.experiments.spec.faults.common import FaultBase, Schedule, Selection
from brownout.experiments.spec.faults.sandbox import (
    SandboxGpuOom,
    SandboxRegionDown,
    SandboxReplicaKill,
    SandboxSlowEmbeddings,
)

__all__ = [
    "Fault",
    "FaultBase",
    "SandboxGpuOom",
    "SandboxRegionDown",
    "SandboxReplicaKill",
    "SandboxSlowEmbeddings",
    "Schedule",
    "Selection",
]

Fault = Annotated[
    SandboxReplicaKill | SandboxGpuOom | SandboxRegionDown | SandboxSlowEmbeddings,
    Field(discriminator="kind"),
]
