"""Harness side: start the stream fault proxy in front of a target, and stop it.

The runner calls `stream_proxy_for(faults, upstream_url, workdir)` once before
the load starts: when the experiment has a `stream.fault` it gets a running
proxy whose `url` replaces the target's base URL for load and probes, and whose
`control_url` goes into `FaultContext.stream_proxy_control`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from brownout.errors import InjectError
from brownout.faults.stream.proxy import UPSTREAM_ENV
from brownout.processes import OnSpawn, spawn_python, terminate

__all__ = ["StreamProxy", "start_stream_proxy", "stream_proxy_for"]

_KIND = "stream.fault"


@dataclass
class StreamProxy:
    """A running proxy process. `stop()` is idempotent; also usable as a context manager."""

    url: str            # base URL for load and probes (paths /v1/... are appended)
    control_url: str    # fault rules API, for FaultContext.stream_proxy_control
    pid: int
    log_path: Path
    _process: subprocess.Popen = field(repr=False)

    def stop(self, grace: float = 5.0) -> None:
        terminate([self.pid], grace=grace)
        self._process.wait(timeout=grace + 1.0)

    def __enter__(self) -> "StreamProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_stream_proxy(upstream_url: str, workdir: Path, timeout: float = 15.0, *, run_id: str | None = None,
                       on_spawn: OnSpawn | None = None) -> StreamProxy:
    """Start `python -m brownout.faults.stream.proxy` and wait until both its ports listen.

    Ports are picked by the kernel in the child and read back from a port file,
    so two runs on one machine cannot race for a port. Raises InjectError when
    the proxy does not come up (its log is named in the message).
    """
    if not upstream_url.startswith(("http://", "https://")):
        raise InjectError(f"stream proxy: upstream must be an http(s) URL, got {upstream_url!r}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "stream-proxy.json"
    port_file.unlink(missing_ok=True)
    log_path = workdir / "stream-proxy.log"
    with log_path.open("ab") as log:
        process = spawn_python(  # the upstream goes through the environment: argv is readable by every local user
            "stream-proxy", "brownout.faults.stream.proxy", ["--port-file", str(port_file)],
            run_id=run_id, on_spawn=on_spawn, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, UPSTREAM_ENV: upstream_url},
        )
    deadline = time.monotonic() + timeout
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            terminate([process.pid], grace=1.0)
            process.wait()
            raise InjectError(f"stream proxy did not start within {timeout:g}s; see {log_path}")
        time.sleep(0.02)
    ports = json.loads(port_file.read_text(encoding="utf-8"))
    return StreamProxy(url=ports["url"], control_url=ports["control_url"], pid=process.pid, log_path=log_path, _process=process)


def stream_proxy_for(faults: Iterable[Any], upstream_url: str, workdir: Path, *, run_id: str | None = None,
                     on_spawn: OnSpawn | None = None) -> StreamProxy | None:
    """A proxy in front of `upstream_url` when any fault is a `stream.fault`; None otherwise."""
    if not any(getattr(f, "kind", None) == _KIND for f in faults):
        return None
    return start_stream_proxy(upstream_url, workdir, run_id=run_id, on_spawn=on_spawn)
