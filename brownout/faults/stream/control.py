"""A synchronous client of the proxy's control API, for the driver, the runner and `brownout recover`."""

from __future__ import annotations

from typing import Any

import httpx

from brownout.faults.stream.rules import StreamRule

__all__ = ["delete_rule", "list_rules", "put_rule"]

_TIMEOUT = 5.0


def put_rule(control_url: str, rule_id: str, rule: StreamRule, timeout: float = _TIMEOUT) -> dict[str, Any]:
    """Create or replace a rule; returns its state. Raises httpx.HTTPError (status errors included)."""
    response = httpx.put(
        f"{control_url}/faults/{rule_id}", content=rule.model_dump_json(),
        headers={"Content-Type": "application/json"}, timeout=timeout,
    )
    response.raise_for_status()
    return response.json()


def delete_rule(control_url: str, rule_id: str, timeout: float = _TIMEOUT) -> dict[str, Any] | None:
    """Remove a rule; returns its final state (counters), None when it was already gone."""
    response = httpx.delete(f"{control_url}/faults/{rule_id}", timeout=timeout)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def list_rules(control_url: str, timeout: float = _TIMEOUT) -> list[dict[str, Any]]:
    """Every rule the proxy holds, with `seen` and `affected` counters, for the report."""
    response = httpx.get(f"{control_url}/faults", timeout=timeout)
    response.raise_for_status()
    return response.json()["faults"]
