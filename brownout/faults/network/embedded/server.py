"""The embedded proxy process: the REST API, the proxies, and the expiry sweep in one event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
from pathlib import Path

from aiohttp import web

from brownout.faults.network.embedded.api import build_app
from brownout.faults.network.embedded.proxies import ProxyCollection

__all__ = ["serve"]

_log = logging.getLogger(__name__)
EXPIRY_SWEEP = 0.1  # seconds between expiry checks


async def serve(host: str, port: int, ready_file: Path | None) -> None:
    """Serve until SIGTERM/SIGINT; then close every listener and connection."""
    collection = ProxyCollection()
    runner = web.AppRunner(build_app(collection), access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.create_server((host, port), reuse_port=False)
    await web.SockSite(runner, sock).start()
    bound = sock.getsockname()
    url = f"http://{bound[0]}:{bound[1]}"
    if ready_file is not None:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}))
        tmp.replace(ready_file)
    _log.info("embedded Toxiproxy-compatible API on %s", url)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            for what in await collection.expire():
                _log.warning("expired brownout fault undone: %s", what)
            try:
                await asyncio.wait_for(stop.wait(), EXPIRY_SWEEP)
            except TimeoutError:
                pass
    finally:
        collection.close()
        await runner.cleanup()
