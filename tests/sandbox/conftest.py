"""Fixtures that start real sandboxes on loopback and always tear them down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brownout.processes import pid_alive
from brownout.sandbox import SandboxConfig, SandboxHandle, start_sandbox

COLD_START = 1.0
DECODE_STEP = 0.02
RATE_LIMIT = 300.0  # tokens/s at the fragile gateway; other tests spend ~10 per request


def _sandbox(tmp_path_factory: pytest.TempPathFactory, name: str, **config: Any) -> Iterator[SandboxHandle]:
    workdir: Path = tmp_path_factory.mktemp(name)
    handle = start_sandbox(SandboxConfig(cold_start=COLD_START, decode_step=DECODE_STEP, **config), workdir, timeout=40)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def resilient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    yield from _sandbox(tmp_path_factory, "resilient", profile="resilient")


@pytest.fixture(scope="module")
def fragile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    yield from _sandbox(
        tmp_path_factory, "fragile", profile="fragile", replicas_per_region=1, rate_limit_tokens_per_s=RATE_LIMIT
    )


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=20.0) as client:
        yield client


def component(handle: SandboxHandle, name: str) -> dict[str, Any]:
    return next(c for c in handle.state()["components"] if c["name"] == name)


def wait_until_ready(handle: SandboxHandle, timeout: float = 15.0) -> dict[str, Any]:
    """Wait until every component that should run is ready, alive, and healthy in the gateway's eyes.

    Pids are checked too: right after a SIGKILL the supervisor may not have
    reaped the process yet and still reports it ready.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = handle.state()
        wanted = [
            c for c in state["components"]
            if c["role"] != "replica" or state["regions"].get(c["region"]) == "up"
        ]
        if all(c["status"] == "ready" and c["pid"] and pid_alive(c["pid"]) for c in wanted):
            gateway = httpx.get(state["gateway_url"] + "/health", timeout=2).json()
            names = {c["name"] for c in wanted}
            if all(u["healthy"] for u in gateway["upstreams"] if u["name"] in names) or state["profile"] == "fragile":
                return state
        time.sleep(0.1)
    raise AssertionError(f"sandbox not ready after {timeout}s: {handle.state()}")


def chat(model: str = "sandbox-large", question: str = "What is the capital of France?", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": question}], **extra}


def read_sse(response: httpx.Response) -> tuple[list[dict[str, Any]], bool, list[float]]:
    """(events, saw [DONE], arrival time of each content-carrying event)."""
    events: list[dict[str, Any]] = []
    arrivals: list[float] = []
    done = False
    for line in response.iter_lines():
        if not line:
            continue
        assert line.startswith("data: "), f"not an SSE data line: {line!r}"
        data = line[len("data: "):]
        if data == "[DONE]":
            done = True
            continue
        assert not done, "event after [DONE]"
        event = json.loads(data)
        events.append(event)
        choices = event.get("choices") or []
        if choices and (choices[0].get("delta", {}).get("content") or choices[0].get("text")):
            arrivals.append(time.perf_counter())
    return events, done, arrivals
