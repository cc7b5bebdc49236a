"""What every sandbox component process shares: argument parsing, logging, serving.

Each component is `python -m brownout.sandbox.<module> --config JSON --port N ...`,
runs one asyncio loop with one aiohttp app on 127.0.0.1, dies with its parent
(unless detached) and shuts down within a second on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from aiohttp import web

from brownout.processes import become_child
from brownout.sandbox.config import SandboxConfig

__all__ = ["HOST", "ComponentArgs", "parse_component_args", "serve"]

HOST = "127.0.0.1"
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
ComponentArgs = argparse.Namespace


def parse_component_args(description: str, argv: list[str] | None = None, **extra: type) -> ComponentArgs:
    """--config JSON, --port, --name, plus `extra` options (`--gpu-memory` from gpu_memory=int...)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, type=SandboxConfig.from_json, help="SandboxConfig as JSON")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--name", required=True)
    for option, kind in extra.items():
        parser.add_argument("--" + option.replace("_", "-"), type=kind, default=None)
    return parser.parse_args(argv)


def serve(app: web.Application, port: int, name: str, *, detach: bool = False) -> None:
    """Run `app` until SIGTERM/SIGINT; tie the process to its parent unless `detach`.

    A child inherits its parent's signal mask: a harness that blocks SIGTERM while it
    spawns us would leave us deaf to every stop request, so unblock it first.
    """
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    become_child(name, tie=not detach)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(
        app, host=HOST, port=port, print=None, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
    )
