"""Experiment documents for the nginx e2e tests: streaming chat through nginx, Toxiproxy faults on the upstreams.

Each run stays well under 40 s: 1 s warmup, 3 s baseline, 6 s fault, 3 s recovery, open loop at
5 requests/s (or a closed loop of a few users), 16 streamed tokens per answer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AVAILABILITY", "FIELD_SERVED_BY", "HEADER_SERVED_BY", "experiment", "proxy_down"]

HEADER_SERVED_BY = {"header": "x-upstream-region"}
FIELD_SERVED_BY = {"field": "system_fingerprint",
                   "regions": {"fp-us-east": "us-east", "fp-eu-west": "eu-west", "fp-backup": "backup"}}

AVAILABILITY = {"name": "available-during-fault", "metric": "success_rate", "phase": "fault", "op": ">=",
                "threshold": "90%", "severity": "critical"}
"""The availability SLO. One stream cut when a proxy goes down costs ~3% of the fault phase's 30
requests; a gateway that cannot fail over loses the 4 s of 6 in which A is down (~65%)."""

PHASES = {"warmup": "1s", "baseline": "3s", "fault": "6s", "recovery": "3s"}


def proxy_down(proxy: str, region: str | None, *, start: str = "1s", duration: str = "4s") -> dict[str, Any]:
    """`network.proxy-down` (refuse) on a Toxiproxy proxy; `region` is the region it takes down."""
    fault: dict[str, Any] = {"name": f"{proxy}-down", "kind": "network.proxy-down", "proxy": proxy, "mode": "refuse",
                             "schedule": {"start": start, "duration": duration}}
    if region is not None:
        fault["region_outage"] = region
    return fault


def experiment(name: str, base_url: str, *, faults: list[dict[str, Any]], slos: list[dict[str, Any]],
               served_by: dict[str, Any] | None = None, arrival: dict[str, Any] | None = None,
               phases: dict[str, str] | None = None, scoring: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "brownout/v1",
        "kind": "Experiment",
        "metadata": {"name": name, "description": "brownout against Debian's nginx in front of three upstream LLM servers"},
        "target": {"model": "big", "endpoint": {"base_url": base_url}},
        "load": {
            "request": "chat",
            "stream": True,
            "arrival": arrival or {"kind": "constant", "rate": "5/s"},
            "dataset": {"kind": "synthetic", "input_tokens": {"dist": "fixed", "mean": 32},
                        "output_tokens": {"dist": "fixed", "mean": 16}},
            "timeout": "10s",
            "drain": "3s",
            "seed": 11,
        },
        "phases": phases or PHASES,
        "faults": faults,
        "slos": slos,
    }
    if served_by is not None:
        doc["outcome"] = {"served_by": served_by}
    doc["scoring"] = {"bucket": "1s", **(scoring or {})}
    return doc
