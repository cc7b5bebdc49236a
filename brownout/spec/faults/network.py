"""Network faults through a Toxiproxy REST API (a real Toxiproxy, or brownout's embedded one).

Toxic attributes are typed per toxic and spelled with units (`latency: 500ms`,
`rate: 100KB/s`, `bytes: 64KiB`); the driver converts them to Toxiproxy's
integers (ms, KB/s with 1 KB = 1000 bytes, bytes, microseconds).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from brownout.spec.base import StrictModel
from brownout.spec.faults.common import FaultBase
from brownout.spec.units import FROM_FILE, Duration, Size, parse_size

__all__ = [
    "EMBEDDER_PROXY",
    "Bandwidth",
    "DeclaredProxy",
    "BandwidthToxic",
    "LatencyToxic",
    "LimitDataToxic",
    "NetworkProxyDown",
    "NetworkToxic",
    "ResetPeerToxic",
    "SlicerToxic",
    "SlowCloseToxic",
    "TimeoutToxic",
    "ToxicSpec",
    "parse_bandwidth",
]

EMBEDDER_PROXY = "sandbox-embedder"
"""The proxy name that routes the sandbox gateway's embedding calls through Toxiproxy (`brownout.faults.sandbox_links`)."""

_BANDWIDTH = re.compile(r"^(.+?)\s*/\s*s$")


def parse_bandwidth(value: Any) -> int:
    """`100KB/s`, `2MB/s`, `512KiB/s` -> Toxiproxy's KB/s (1 KB = 1000 bytes), at least 1."""
    match = _BANDWIDTH.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"'{value}' is not a bandwidth: write a size per second, e.g. 100KB/s or 2MB/s")
    kb = parse_size(match.group(1)) // 1000
    if kb < 1:
        raise ValueError(f"'{value}' is below Toxiproxy's resolution of 1KB/s")
    return kb


def _bandwidth(value: Any, info: ValidationInfo) -> int:
    from_file = isinstance(info.context, dict) and info.context.get(FROM_FILE)
    if isinstance(value, int) and not isinstance(value, bool) and not from_file:
        if value < 1:
            raise ValueError("a bandwidth must be at least 1KB/s")
        return value
    return parse_bandwidth(value)


Bandwidth = Annotated[
    int,
    BeforeValidator(_bandwidth),
    PlainSerializer(lambda kb: f"{kb}KB/s", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)\s*/\s*s$", "examples": ["100KB/s", "2MB/s"]}),
]
"""KB/s (1 KB = 1000 bytes, Toxiproxy's unit) as int in Python; `100KB/s` in YAML and JSON."""


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _whole_ms(seconds: float, field: str) -> None:
    if abs(seconds * 1000 - round(seconds * 1000)) > 1e-6:
        raise ValueError(f"{field}: Toxiproxy takes whole milliseconds")


class _Toxic(StrictModel):
    def attributes(self) -> dict[str, int]:
        """Toxiproxy's attributes for this toxic."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class LatencyToxic(_Toxic):
    """Delay every chunk of data by latency +/- jitter."""

    type: Literal["latency"] = Field(..., description="Toxic type.")
    latency: Duration = Field(..., description="Added delay per chunk of data.")
    jitter: Duration = Field(0.0, description="Random +/- variation of the delay.")

    @model_validator(mode="after")
    def _whole(self) -> LatencyToxic:
        _whole_ms(self.latency, "latency")
        _whole_ms(self.jitter, "jitter")
        return self

    def attributes(self) -> dict[str, int]:
        return {"latency": _ms(self.latency), "jitter": _ms(self.jitter)}

    def describe(self) -> str:
        return f"latency {_ms(self.latency)}ms" + (f" +/- {_ms(self.jitter)}ms" if self.jitter else "")


class BandwidthToxic(_Toxic):
    """Limit throughput."""

    type: Literal["bandwidth"] = Field(..., description="Toxic type.")
    rate: Bandwidth = Field(..., description="Throughput limit, e.g. 100KB/s (1 KB = 1000 bytes).")

    def attributes(self) -> dict[str, int]:
        return {"rate": self.rate}

    def describe(self) -> str:
        return f"bandwidth {self.rate}KB/s"


class SlowCloseToxic(_Toxic):
    """Delay the close of the connection after the data ends."""

    type: Literal["slow_close"] = Field(..., description="Toxic type.")
    delay: Duration = Field(..., description="How long the close is held back.")

    @model_validator(mode="after")
    def _whole(self) -> SlowCloseToxic:
        _whole_ms(self.delay, "delay")
        return self

    def attributes(self) -> dict[str, int]:
        return {"delay": _ms(self.delay)}

    def describe(self) -> str:
        return f"slow close {_ms(self.delay)}ms"


class TimeoutToxic(_Toxic):
    """Stop all data; close the connection after the timeout (never when 0, so connections hang)."""

    type: Literal["timeout"] = Field(..., description="Toxic type.")
    timeout: Duration = Field(..., description="Close after this long without data; 0 keeps connections hanging.")

    @model_validator(mode="after")
    def _whole(self) -> TimeoutToxic:
        _whole_ms(self.timeout, "timeout")
        return self

    def attributes(self) -> dict[str, int]:
        return {"timeout": _ms(self.timeout)}

    def describe(self) -> str:
        return f"timeout {_ms(self.timeout)}ms" if self.timeout else "blackhole (data dropped, connections hang)"


class ResetPeerToxic(_Toxic):
    """Reset connections (TCP RST) once data flows, after the timeout."""

    type: Literal["reset_peer"] = Field(..., description="Toxic type.")
    timeout: Duration = Field(0.0, description="Delay before the reset; 0 resets at the first data.")

    @model_validator(mode="after")
    def _whole(self) -> ResetPeerToxic:
        _whole_ms(self.timeout, "timeout")
        return self

    def attributes(self) -> dict[str, int]:
        return {"timeout": _ms(self.timeout)}

    def describe(self) -> str:
        return f"reset peer after {_ms(self.timeout)}ms"


class SlicerToxic(_Toxic):
    """Split data into small writes (fragmented TCP segments), optionally delayed."""

    type: Literal["slicer"] = Field(..., description="Toxic type.")
    average_size: Size = Field(..., description="Average slice size.")
    size_variation: Size = Field(0, description="Random +/- variation of the slice size; below average_size.")
    delay: Duration = Field(0.0, description="Pause after each slice (microsecond resolution).")

    @model_validator(mode="after")
    def _sizes(self) -> SlicerToxic:
        if self.average_size < 1:
            raise ValueError("average_size must be at least 1B")
        if self.size_variation >= self.average_size:
            raise ValueError("size_variation must be smaller than average_size")
        return self

    def attributes(self) -> dict[str, int]:
        return {
            "average_size": self.average_size,
            "size_variation": self.size_variation,
            "delay": round(self.delay * 1_000_000),
        }

    def describe(self) -> str:
        return f"slicer {self.average_size}B +/- {self.size_variation}B"


class LimitDataToxic(_Toxic):
    """Close the connection once this many bytes went through."""

    type: Literal["limit_data"] = Field(..., description="Toxic type.")
    bytes: Size = Field(..., description="Bytes let through before the connection is closed.")

    def attributes(self) -> dict[str, int]:
        return {"bytes": self.bytes}

    def describe(self) -> str:
        return f"limit data to {self.bytes}B"


ToxicSpec = Annotated[
    LatencyToxic | BandwidthToxic | SlowCloseToxic | TimeoutToxic | ResetPeerToxic | SlicerToxic | LimitDataToxic,
    Field(discriminator="type"),
]

_PROXY = Field(..., min_length=1, description="Name of the Toxiproxy proxy in front of the target (it must exist).")
_EXPIRE = Field(
    None,
    description=(
        "Safety net: the embedded proxy removes the fault by itself this long after inject, even if brownout "
        "was killed. Default: the schedule's duration plus 60s, or 1h without a duration. A real Toxiproxy "
        "ignores it (the journal and `brownout recover` undo the fault there)."
    ),
)


class NetworkToxic(FaultBase):
    """Add one Toxiproxy toxic to a proxy for the fault window."""

    kind: Literal["network.toxic"]
    proxy: str = _PROXY
    toxic: ToxicSpec = Field(..., description="The toxic and its attributes; `type` picks which.")
    stream: Literal["upstream", "downstream"] = Field(
        "downstream", description="Direction: downstream = target to client, upstream = client to target."
    )
    toxicity: float = Field(1.0, ge=0, le=1, description="Share of connections the toxic applies to, decided per connection.")
    expire_after: Duration | None = _EXPIRE


class NetworkProxyDown(FaultBase):
    """Take a Toxiproxy proxy down: refuse connections, or accept them and never answer."""

    kind: Literal["network.proxy-down"]
    proxy: str = _PROXY
    mode: Literal["refuse", "blackhole"] = Field(
        "refuse",
        description="refuse: disable the proxy (connection refused, open connections closed); "
        "blackhole: timeout toxics with timeout 0 on both streams (connections hang).",
    )
    expire_after: Duration | None = _EXPIRE


_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")


def _address(value: str) -> str:
    match = _ADDRESS.match(value)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ValueError(f"'{value}' is not HOST:PORT, e.g. 127.0.0.1:18001")
    return value


Address = Annotated[str, AfterValidator(_address), WithJsonSchema({"type": "string", "examples": ["127.0.0.1:18001"]})]
"""A TCP address as Toxiproxy writes it: `host:port` or `[v6]:port`."""


class DeclaredProxy(StrictModel):
    """A Toxiproxy proxy the run creates before the load starts and deletes after it.

    The gateway under test is configured once to reach an upstream through `listen`;
    `network.*` faults then name the proxy. One that already exists with the same
    listen and upstream is reused (and left in place), never clobbered.
    """

    name: str = Field(..., pattern=r"^[A-Za-z0-9._-]{1,63}$", description="Proxy name, as network faults' `proxy` names it.")
    listen: Address = Field(..., description="Address the proxy listens on, e.g. 127.0.0.1:18001 (where the gateway is pointed).")
    upstream: Address = Field(..., description="Address it forwards to, e.g. 127.0.0.1:8001 (the model server).")
    enabled: bool = Field(True, description="Created enabled (accepting connections).")
