"""A component whose port another process took between `free_port` and its bind (a busy machine)
restarts on a fresh port, and the gateway learns the new address: the sandbox still comes up."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp

from brownout.processes import free_port
from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.supervisor import Supervisor


async def _start_with_a_stolen_port(workdir) -> tuple[int, dict, list[str]]:
    sup = Supervisor(SandboxConfig(regions=["us-east"], replicas_per_region=1, cold_start=0.0), workdir, free_port(), False)
    replica = sup.components["llm-us-east-0"]
    stolen = replica.port
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", stolen))
    squatter.listen()                       # a stranger listens there before the replica can bind
    sup.session = aiohttp.ClientSession()
    readiness = asyncio.create_task(sup.readiness_loop())
    try:
        await sup.start()
        deadline = time.monotonic() + 60
        while not all(c.status == "ready" for c in sup.components.values()):
            assert time.monotonic() < deadline, {c.name: c.status for c in sup.components.values()}
            await asyncio.sleep(0.2)
        gateway = sup.components["gateway"]
        async with sup.session.post(gateway.url + "/v1/chat/completions", json={
                "model": "sandbox-large", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}) as response:
            served = [response.headers.get("x-sandbox-replica", ""), str(response.status)]
        return stolen, {c.name: (c.port, c.restarts) for c in sup.components.values()}, served
    finally:
        readiness.cancel()
        await sup.shutdown()
        await sup.session.close()
        squatter.close()


def test_a_component_that_lost_its_port_moves_and_the_gateway_follows(tmp_path):
    stolen, ports, served = asyncio.run(_start_with_a_stolen_port(tmp_path))
    port, restarts = ports["llm-us-east-0"]
    assert port != stolen and restarts >= 1, ports
    assert ports["gateway"][1] >= 1, "the gateway restarted to learn the replica's new address"
    assert served == ["llm-us-east-0", "200"], served   # answered by the moved replica
