"""The stream fault proxy process: `python -m brownout.faults.stream.proxy --port-file PATH` (upstream in $BROWNOUT_UPSTREAM_URL or --upstream).

Runs in its own process so a slow or stalled stream never competes with the
load generator's event loop, and so it dies with its parent (die_with_parent):
a rule can outlive neither the proxy nor its `ttl`. Both ports are bound by the
kernel (port 0) and announced in the port file, written atomically once both
listen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from pathlib import Path

import aiohttp
from aiohttp import web

from brownout.faults.stream.control_api import control_app
from brownout.faults.stream.forward import Forwarder
from brownout.faults.stream.rules import RuleTable
from brownout.processes import become_child

__all__ = ["UPSTREAM_ENV", "main", "serve"]

UPSTREAM_ENV = "BROWNOUT_UPSTREAM_URL"
"""The upstream URL comes through the environment: it may carry credentials, and argv is public."""

_MAX_REQUEST_BODY = 64 * 2**20


def _bound_port(runner: web.AppRunner) -> int:
    return runner.addresses[0][1]


async def serve(upstream: str, port_file: Path, host: str = "127.0.0.1", port: int = 0, control_port: int = 0) -> None:
    """Serve until SIGTERM or SIGINT."""
    table = RuleTable()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    session = aiohttp.ClientSession(
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
        connector=aiohttp.TCPConnector(limit=0),
    )
    data = web.Application(client_max_size=_MAX_REQUEST_BODY)
    data.router.add_route("*", "/{tail:.*}", Forwarder(upstream, table, session).handle)
    runners = [web.AppRunner(data, access_log=None), web.AppRunner(control_app(table, upstream), access_log=None)]
    try:
        for runner, wanted in zip(runners, (port, control_port)):
            await runner.setup()
            await web.TCPSite(runner, host, wanted).start()
        ports = {
            "pid": os.getpid(),
            "url": f"http://{host}:{_bound_port(runners[0])}",
            "control_url": f"http://{host}:{_bound_port(runners[1])}",
        }
        tmp = port_file.with_suffix(port_file.suffix + ".tmp")
        tmp.write_text(json.dumps(ports), encoding="utf-8")
        tmp.replace(port_file)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        await session.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m brownout.faults.stream.proxy", description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", default=os.environ.get(UPSTREAM_ENV),
                        help=f"base URL of the OpenAI-compatible target (default: ${UPSTREAM_ENV}; credentials belong there)")
    parser.add_argument("--port-file", required=True, type=Path, help="where to write {pid, url, control_url} once listening")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="data port (0: any free port)")
    parser.add_argument("--control-port", type=int, default=0, help="control API port (0: any free port)")
    parser.add_argument("--parent-pid", type=int, default=None, help="die when this process dies (default: our parent)")
    args = parser.parse_args(argv)
    if not args.upstream:
        parser.error(f"--upstream or ${UPSTREAM_ENV} is required")
    become_child("stream-proxy", parent_pid=args.parent_pid)
    asyncio.run(serve(args.upstream, args.port_file, args.host, args.port, args.control_port))


if __name__ == "__main__":
    main()
