"""Prometheus probe, and the PromQL helpers the PromQL stop condition shares.

Queries go to `/api/v1/query` (instant query). The first sample of an instant
vector, or the scalar, is compared with the threshold; an empty result is "no
data", never a pass.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import httpx

from brownout.spec.probes import PrometheusProbe
from brownout.probes.base import CheckFailed, ProbeCheck, json_body
from brownout.probes.target import ProbeTarget

__all__ = ["OPS", "PrometheusCheck", "instant_query", "parse_query_response", "query_url"]

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
}


def query_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/api/v1/query"


def parse_query_response(status: int, body: Any) -> float | None:
    """The query's value (first sample of a vector, or the scalar); None when there is no data.

    Raises CheckFailed for an error answer or a result that is not an instant vector or scalar.
    """
    if not isinstance(body, dict):
        raise CheckFailed(f"status {status}: malformed response: not a JSON object")
    if body.get("status") != "success" or status != 200:
        raise CheckFailed(f"status {status}: query error: {body.get('errorType', '?')}: {body.get('error', '')}".rstrip(": "))
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    try:
        if kind == "vector":
            sample = result[0]["value"] if result else None
        elif kind == "scalar":
            sample = result
        else:
            raise CheckFailed(f"result type {kind!r}: the query must return an instant vector or a scalar")
        if sample is None:
            return None
        value = float(sample[1])
    except (KeyError, IndexError, TypeError, ValueError):
        raise CheckFailed("malformed response: unexpected result shape") from None
    return None if math.isnan(value) else value


def instant_query(url: str, query: str, timeout: float) -> float | None:
    """Synchronous instant query (for guards, which run in the runner's thread).

    Raises CheckFailed for error answers and httpx errors for transport failures.
    """
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        response = client.get(query_url(url), params={"query": query})
    return parse_query_response(response.status_code, json_body(response))


class PrometheusCheck(ProbeCheck[PrometheusProbe]):
    kind = "prometheus"

    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        response = await client.get(query_url(self.spec.url), params={"query": self.spec.query}, timeout=self.timeout)
        value = parse_query_response(response.status_code, json_body(response))
        if value is None:
            raise CheckFailed("no data")
        if not OPS[self.spec.op](value, self.spec.threshold):
            raise CheckFailed(f"value {value:g} {self.spec.op} {self.spec.threshold:g} does not hold", value)
        return value
