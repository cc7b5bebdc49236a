"""Fixtures of the nginx e2e suite: three upstream LLM servers, Toxiproxy proxies in front of two of
them, a resilient and a fragile nginx gateway, and brownout runs against them.

One stack per test module (per xdist worker): every run leaves it as it found it (brownout rolls
its faults back; `fresh_proxies` resets the proxies before each test anyway), and the upstreams'
counters are read before and after each run, so runs never see each other's numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.nginx.runs import Runner
from tests.e2e.nginx.stack import Stack, start_nginx, start_toxiproxy, start_upstreams
from tests.support.debian import find_or_install

TTFT_MS = 50.0
ITL_MS = 10.0
CAPACITY = 2
"""A and B generate two answers at once each; beyond that requests queue (tests/e2e/nginx/upstream.py)."""


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    binary = find_or_install("nginx", "nginx")
    if binary is None:
        pytest.skip("no nginx binary and it could not be installed (apt-get install nginx needs root)")
    return binary


@pytest.fixture(scope="module")
def stack(nginx_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("nginx-stack")
    started: list[Any] = []
    try:
        timing = {"ttft_ms": TTFT_MS, "itl_ms": ITL_MS}
        upstreams = start_upstreams(workdir, {
            "a": {"model": "big", "region": "us-east", "capacity": CAPACITY, **timing},
            "b": {"model": "big", "region": "eu-west", "capacity": CAPACITY, **timing},
            "c": {"model": "small", "region": "backup", "capacity": 4, **timing},
        })
        started += upstreams.values()
        a, b, c = upstreams["a"], upstreams["b"], upstreams["c"]
        toxiproxy = start_toxiproxy(workdir / "toxiproxy")
        started.append(toxiproxy)
        pa, pb = toxiproxy.create("upstream-a", a), toxiproxy.create("upstream-b", b)
        resilient = start_nginx(nginx_binary, workdir / "nginx-resilient", [
            f"127.0.0.1:{pa} max_fails=0", f"127.0.0.1:{pb} max_fails=0", f"127.0.0.1:{c.port} backup",
        ], resilient=True, name="resilient")
        started.append(resilient)
        fragile = start_nginx(nginx_binary, workdir / "nginx-fragile", [f"127.0.0.1:{pa}"], resilient=False,
                              name="fragile")
        started.append(fragile)
        yield Stack(a, b, c, toxiproxy, resilient, fragile)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture(autouse=True)
def fresh_proxies(stack: Stack) -> Iterator[None]:
    """Every test starts with both proxies enabled and no toxics, and a stack whose processes all run."""
    assert stack.alive(), "an upstream or nginx process of the stack has exited"
    stack.toxiproxy.reset()
    yield
    stack.toxiproxy.reset()


@pytest.fixture(scope="module")
def runs(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(stack, tmp_path_factory.mktemp("nginx-runs"))
