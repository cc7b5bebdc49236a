"""The embedded proxy's state as Toxiproxy 2.x shows it over its REST API.

Pure data and validation: JSON in, typed objects or an `ApiError` out, with
the same messages and status codes as Toxiproxy's api.go and
toxic_collection.go, so clients cannot tell the two apart.

brownout extension: a toxic attribute, or a field of a proxy update, named
`brownout_expires_at` (epoch seconds). The embedded proxy undoes the toxic or
the disable when that time passes, so a harness killed with SIGKILL cannot
leave a fault behind. A real Toxiproxy accepts and ignores the key (Go's JSON
decoder drops unknown fields): there, the run journal and `brownout recover`
are the only undo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EXPIRES_AT",
    "INVALID_STREAM",
    "INVALID_TOXIC_TYPE",
    "PROXY_EXISTS",
    "PROXY_NOT_FOUND",
    "STREAMS",
    "TOXIC_ATTRIBUTES",
    "TOXIC_EXISTS",
    "TOXIC_NOT_FOUND",
    "ApiError",
    "Toxic",
    "bad_body",
    "expiry_of",
    "parse_toxic",
    "update_toxic",
]

EXPIRES_AT = "brownout_expires_at"
STREAMS = ("upstream", "downstream")

TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "slicer": ("average_size", "size_variation", "delay"),
    "limit_data": ("bytes",),
}
"""Toxic types the embedded proxy runs, and their integer attributes (ms, KB/s, bytes, us)."""


@dataclass
class ApiError(Exception):
    """An error answered as Toxiproxy does: `{"error": message, "status": status}`."""

    message: str
    status: int

    def to_json(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status}


def bad_body(detail: str) -> ApiError:
    return ApiError(f"bad request body: {detail}", 400)


PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)


@dataclass(eq=False)
class Toxic:
    """One toxic. Immutable in use: an update builds a new object, so running
    connections notice the change by identity (as Toxiproxy interrupts its stubs)."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int] = field(default_factory=dict)
    expires_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        attributes: dict[str, Any] = dict(self.attributes)
        if self.expires_at is not None:
            attributes[EXPIRES_AT] = self.expires_at
        return {
            "attributes": attributes,
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise bad_body(f"json: cannot unmarshal {type(value).__name__} into Go struct field {what}")
    return float(value)


def _attributes(kind: str, raw: Any, base: dict[str, int]) -> tuple[dict[str, int], float | None]:
    """Known integer attributes over `base`; unknown keys are dropped, as Go does."""
    if raw is None:
        return dict(base), None
    if not isinstance(raw, dict):
        raise bad_body("json: cannot unmarshal attributes: expected an object")
    out = dict(base)
    for key in TOXIC_ATTRIBUTES[kind]:
        if key in raw:
            value = _number(raw[key], f"{kind}.{key}")
            if value != int(value):
                raise bad_body(f"json: cannot unmarshal number {raw[key]} into Go struct field {kind}.{key} of type int64")
            out[key] = int(value)
    expires = raw.get(EXPIRES_AT)
    return out, (None if expires is None else _number(expires, EXPIRES_AT))


def expiry_of(body: dict[str, Any]) -> float | None:
    """The brownout expiry of a proxy update body, if any."""
    value = body.get(EXPIRES_AT)
    return None if value is None else _number(value, EXPIRES_AT)


def parse_toxic(body: Any) -> Toxic:
    """A new toxic from a POST /proxies/{proxy}/toxics body, with Toxiproxy's defaults and checks (in its order)."""
    if not isinstance(body, dict):
        raise bad_body("json: cannot unmarshal into Go value of type toxics.ToxicWrapper")
    stream = body.get("stream", "downstream")
    toxicity = _number(body.get("toxicity", 1.0), "toxicity")
    kind = body.get("type", "")
    name = body.get("name", "") or ""
    if not isinstance(stream, str) or stream.lower() not in STREAMS:
        raise INVALID_STREAM
    stream = stream.lower()
    if not isinstance(name, str) or not isinstance(kind, str):
        raise bad_body("json: name and type must be strings")
    if not name:
        name = f"{kind}_{stream}"
    if kind not in TOXIC_ATTRIBUTES:
        raise INVALID_TOXIC_TYPE
    base = {key: 0 for key in TOXIC_ATTRIBUTES[kind]}
    attributes, expires = _attributes(kind, body.get("attributes"), base)
    return Toxic(name, kind, stream, toxicity, attributes, expires)


def update_toxic(toxic: Toxic, body: Any) -> Toxic:
    """A new toxic from POST /proxies/{proxy}/toxics/{toxic}: only attributes and toxicity change."""
    if not isinstance(body, dict):
        raise bad_body("json: cannot unmarshal into Go value")
    toxicity = _number(body.get("toxicity", toxic.toxicity), "toxicity")
    attributes, expires = _attributes(toxic.type, body.get("attributes"), toxic.attributes)
    if "attributes" not in body or EXPIRES_AT not in (body.get("attributes") or {}):
        expires = toxic.expires_at
    return Toxic(toxic.name, toxic.type, toxic.stream, toxicity, attributes, expires)
