"""What load to drive: request kind, arrivals, dataset, limits."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from brownout.experiments.spec.base import StrictModel
from brownout.experiments.spec.units import Duration, Rate

__all__ = [
    "Arrival",
    "ConcurrencyArrival",
    "ConstantArrival",
    "Dataset",
    "JsonlDataset",
    "Load",
    "PoissonArrival",
    "ShareGPTDataset",
    "SyntheticDataset",
    "TokenLength",
]


class TokenLength(StrictModel):
    """A token-length distribution, clamped to [min, max]."""

    dist: Literal["fixed", "uniform", "normal", "lognormal"] = Field("fixed", description="Distribution family.")
    mean: float = Field(128, gt=0, description="Mean (for 'fixed', the value; for 'uniform', the centre).")
    stddev: float = Field(0, ge=0, description="Standard deviation ('normal', 'lognormal'); half-width for 'uniform'.")
    min: int = Field(1, ge=1, description="Lower clamp.")
    max: int = Field(32768, ge=1, description="Upper clamp.")

    @model_validator(mode="after")
    def _ordered(self) -> "TokenLength":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class SyntheticDataset(StrictModel):
    """Generated prompts with given input and output token lengths."""

    kind: Literal["synthetic"] = "synthetic"
    input_tokens: TokenLength = Field(default_factory=lambda: TokenLength(mean=64), description="Prompt length.")
    output_tokens: TokenLength = Field(default_factory=lambda: TokenLength(mean=32), description="Requested max_tokens.")


class JsonlDataset(StrictModel):
    """One JSON object per line with a `prompt` (or `messages`) and optional `max_tokens`."""

    kind: Literal["jsonl"]
    path: str = Field(..., description="Path, relative to the experiment file.")


class ShareGPTDataset(StrictModel):
    """ShareGPT-format conversations (`conversations: [{from, value}]`)."""

    kind: Literal["sharegpt"]
    path: str = Field(..., description="Path, relative to the experiment file.")


Dataset = Annotated[SyntheticDataset | JsonlDataset | ShareGPTDataset, Field(discriminator="kind")]


class ConstantArrival(StrictModel):
    """Open loop: requests are sent on a fixed schedule whatever the target's latency."""

    kind: Literal["constant"]
    rate: Rate = Field(..., description="Requests per unit time, e.g. 5/s.")


class PoissonArrival(StrictModel):
    """Open loop with exponential (or gamma, burstiness != 1) inter-arrival times."""

    kind: Literal["poisson"]
    rate: Rate = Field(..., description="Mean requests per unit time, e.g. 5/s.")
    burstiness: float = Field(1.0, gt=0, description="Gamma shape; 1 is Poisson, below 1 is burstier.")


class ConcurrencyArrival(StrictModel):
    """Closed loop: a fixed number of users, each sending as soon as its previous request ends."""

    kind: Literal["concurrency"]
    users: int = Field(..., ge=1, le=10000, description="Concurrent users.")


Arrival = Annotated[ConstantArrival | PoissonArrival | ConcurrencyArrival, Field(discriminator="kind")]


class Load(StrictModel):
    """Token-aware load driven through Locust for every phase of the run."""

    request: Literal["chat", "completions", "embeddings", "rag"] = Field("chat", description="Request kind.")
    stream: bool = Field(True, description="Stream responses (SSE); token timings need it.")
    arrival: Arrival = Field(..., description="Arrival profile.")
    dataset: Dataset = Field(default_factory=SyntheticDataset, description="Where prompts come from.")
    max_in_flight: int = Field(256, ge=1, le=100000, description="Cap on concurrent requests; arrivals over it are counted as dropped.")
    timeout: Duration = Field(30.0, description="Per-request timeout.")
    drain: Duration = Field(
        5.0,
        description="After the load ends, in-flight requests get this long to finish; the rest are abandoned and recorded as failed (timeout).",
    )
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature sent with each request.")
    workers: int = Field(1, ge=1, le=64, description="Local Locust worker processes.")
    seed: int = Field(42, description="Seed for arrivals and prompts: the same seed sends the same requests.")
