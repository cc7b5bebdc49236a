"""GPU faults on real hardware: a memory hog that takes GPU memory away from the serving engine.

The hog runs on this machine (`placement: local`) or inside a pod through the
Kubernetes exec API (`placement: kubernetes`); the cluster fields and rails are
those of every Kubernetes fault and are refused with a local placement.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.faults.common import Selection
from brownout.spec.faults.kubernetes import KubernetesFaultBase
from brownout.spec.units import Duration, Size

__all__ = ["GpuMemoryHog"]

_NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_CLUSTER_ONLY = ("namespace", "pod", "label_selector", "container", "context", "api_url", "token_env",
                 "allowed_namespaces")


class GpuMemoryHog(KubernetesFaultBase):
    """Hold an amount (or share) of GPU memory for the fault's duration; rollback frees it."""

    kind: Literal["gpu.memory-hog"] = Field(..., description="Fault kind.")
    amount: Size | None = Field(None, description="GPU memory to take, e.g. 4GiB (exactly one of amount, fraction).")
    fraction: float | None = Field(
        None, gt=0, le=1, description="Share of the device's total memory to take (exactly one of amount, fraction)."
    )
    device: str = Field("cuda:0", pattern=r"^cuda(:\d+)?$", description="CUDA device to fill.")
    backend: Literal["auto", "torch", "cupy", "host"] = Field(
        "auto",
        description="Allocator: torch or cupy (auto: torch, then cupy; refused when neither finds a CUDA device). "
        "'host' takes host memory instead, for rehearsing the lifecycle on machines without a GPU.",
    )
    placement: Literal["local", "kubernetes"] = Field(
        "local", description="Run the hog on this machine, or inside a pod through the Kubernetes exec API."
    )
    namespace: str | None = Field(None, pattern=_NAMESPACE, description="With placement kubernetes: the pod's namespace.")
    pod: str | None = Field(None, min_length=1, description="With placement kubernetes: the pod (or use label_selector).")
    label_selector: str | None = Field(
        None, description="With placement kubernetes: pick pods by label instead of naming one; empty selectors are refused."
    )
    select: Selection = Field(default_factory=Selection, description="With label_selector: how many of the pods.")
    container: str | None = Field(None, min_length=1, description="Container to exec in; the pod's only or default one when absent.")
    python: str = Field("python3", min_length=1, description="With placement kubernetes: Python interpreter in the container.")
    state_dir: str = Field("/tmp", pattern=r"^/", description="Writable directory (in the container) for the hog's state file.")
    max_lifetime: Duration = Field(
        3600.0,
        description="Safety rail: the hog frees the memory and exits by itself after this long, even if never rolled back.",
    )
    start_timeout: Duration = Field(60.0, description="How long the hog may take to hold the memory (CUDA start-up).")

    @model_validator(mode="after")
    def _consistent(self) -> GpuMemoryHog:
        if (self.amount is None) == (self.fraction is None):
            raise ValueError("set exactly one of 'amount' or 'fraction'")
        if self.amount == 0:
            raise ValueError("amount must be larger than 0")
        if self.placement == "local":
            used = [f for f in _CLUSTER_ONLY if getattr(self, f) is not None]
            if used:
                raise ValueError(f"{', '.join(used)} only apply to placement 'kubernetes'")
        else:
            if self.namespace is None:
                raise ValueError("placement 'kubernetes' needs namespace")
            if (self.pod is None) == (self.label_selector is None):
                raise ValueError("placement 'kubernetes' needs exactly one of 'pod' or 'label_selector'")
        if self.schedule.duration is not None and self.max_lifetime < self.schedule.duration:
            raise ValueError("max_lifetime is shorter than schedule.duration: the hog would end before the fault")
        return self
