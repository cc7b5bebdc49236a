"""The embedded proxy process: the REST API, the proxies, and the expiry sweep in one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web

from brownout.faults.network.embedded.api import build_app
from brownout.faults.network.embedded.proxies import ProxyCollection

__all__ = ["serve"]

_log = logging.getLogger(__name__)
EXPIRY_SWEEP = 0.1  # seconds between expiry checks


async def serve(host: str, port: int, on_ready: Callable[[str], None], config: list[Any] | None = None) -> None:
    """Serve until SIGTERM/SIGINT; then remove every toxic and close every listener and connection.

    `config` is Toxiproxy's own config file format (a list of `{name, listen, upstream, enabled}`),
    created before the API listens; an invalid one raises the API's error and nothing listens.
    `on_ready(url)` is called once the API listens.
    """
    collection = ProxyCollection()
    try:
        if config is not None:
            for proxy in await collection.populate(config):
                _log.info("proxy %s: %s -> %s", proxy.name, proxy.listen, proxy.upstream)
        runner = web.AppRunner(build_app(collection), access_log=None, handle_signals=False)
        await runner.setup()
    except BaseException:
        collection.close()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        sock = socket.create_server((host, port), reuse_port=False)
        await web.SockSite(runner, sock).start()
        bound = sock.getsockname()
        url = f"http://{bound[0]}:{bound[1]}"
        on_ready(url)
        _log.info("embedded Toxiproxy-compatible API on %s", url)
        while not stop.is_set():
            for what in await collection.expire():
                _log.warning("expired brownout fault undone: %s", what)
            try:
                await asyncio.wait_for(stop.wait(), EXPIRY_SWEEP)
            except TimeoutError:
                pass
    finally:
        for proxy in collection.proxies.values():
            for toxic in proxy.toxic_list():
                _log.info("stopping: toxic %s/%s removed", proxy.name, toxic.name)
            proxy.reset_toxics()
        collection.close()
        await runner.cleanup()
