"""What the runner measured of the harness's own health: saved with the run, judged by scoring."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["HarnessObservations"]


class HarnessObservations(BaseModel):
    """What the runner measured of the harness's own health over the load (None: not measured here).

    The schedule lag is not here: scoring takes it from the records.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_inf_nan="strings")

    load_cpu_share: float | None = Field(None, description="Busiest load process: CPU seconds / wall seconds (1 = one core).")
    loop_lag_p99: float | None = Field(None, description="p99 of the load process's event-loop wake-up lag, seconds.")
    loop_lag_max: float | None = Field(None, description="Largest event-loop wake-up lag, seconds.")
    cpu_pressure: float | None = Field(None, description="Share of the run in which runnable tasks waited for a CPU (PSI cpu some).")
    steal: float | None = Field(None, description="Share of the machine's CPU time taken by the hypervisor.")
    load_per_core: float | None = Field(None, description="1-minute load average at the end of the load, per core (context only).")
    cores: int | None = None
