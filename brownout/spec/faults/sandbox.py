"""Faults on the embedded sandbox: the same failure modes, applied to local processes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.faults.common import FaultBase, Selection
from brownout.spec.faults.stream import Degradation
from brownout.spec.units import Duration, Size

__all__ = ["SandboxBadRollout", "SandboxGpuOom", "SandboxRegionDown", "SandboxReplicaKill", "SandboxSlowEmbeddings"]


class SandboxReplicaKill(FaultBase):
    """Kill LLM replica processes (like a pod kill); the supervisor restarts them after the cold start."""

    kind: Literal["sandbox.replica-kill"]
    region: str | None = Field(None, description="Only replicas of this region; any region when absent.")
    select: Selection = Field(default_factory=Selection, description="How many replicas to kill.")
    signal: Literal["SIGKILL", "SIGTERM"] = Field("SIGKILL", description="Signal sent to the replica process.")


class SandboxGpuOom(FaultBase):
    """Shrink replicas' simulated GPU memory so they answer CUDA OOM errors (or crash)."""

    kind: Literal["sandbox.gpu-oom"]
    region: str | None = Field(None, description="Only replicas of this region.")
    select: Selection = Field(default_factory=Selection, description="How many replicas.")
    gpu_memory: Size = Field(512 * 2**20, description="Simulated GPU memory left while the fault is active.")


class SandboxRegionDown(FaultBase):
    """Take every replica of one region down (a regional outage) while the gateway stays up."""

    kind: Literal["sandbox.region-down"]
    region: str = Field(..., description="Region to take down.")


class SandboxSlowEmbeddings(FaultBase):
    """Add latency to every embedding request (a saturated embedding GPU)."""

    kind: Literal["sandbox.slow-embeddings"]
    latency: Duration = Field(..., description="Added latency per request.")
    jitter: Duration = Field(0.0, description="Random +/- jitter on the added latency.")


class SandboxBadRollout(FaultBase):
    """A bad rollout: replicas keep answering 200 OK, but a share of their answers is wrong (silent degradation)."""

    kind: Literal["sandbox.bad-rollout"]
    region: str | None = Field(None, description="Only replicas of this region.")
    select: Selection = Field(default_factory=Selection, description="How many replicas run the bad version.")
    answer: Degradation = Field(
        "wrong_answer", description="'wrong_answer' (filler words), 'truncate' (stop after `tokens`, finish_reason "
        "stop), 'empty' (no text) or 'other_model' (answers name `model`).",
    )
    share: float = Field(1.0, ge=0, le=1, description="Share of each picked replica's answers that are degraded (seeded draw).")
    tokens: int | None = Field(None, ge=1, description="answer truncate: tokens kept (default 1).")
    model: str | None = Field(None, min_length=1, description="answer other_model: the model answers name (default brownout-impostor).")

    @model_validator(mode="after")
    def _parameters_fit_answer(self) -> "SandboxBadRollout":
        if self.tokens is not None and self.answer != "truncate":
            raise ValueError("tokens goes with answer 'truncate' only")
        if self.model is not None and self.answer != "other_model":
            raise ValueError("model goes with answer 'other_model' only")
        return self
