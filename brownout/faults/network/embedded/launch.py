"""Start the embedded proxy as a child process from the harness, and stop it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from brownout.errors import SandboxError
from brownout.processes import OnSpawn, spawn_python, terminate

__all__ = ["EmbeddedProxy", "start_embedded_proxy"]


@dataclass
class EmbeddedProxy:
    """A running embedded proxy; `url` is its Toxiproxy REST API (what `TOXIPROXY_URL` would hold)."""

    url: str
    pid: int
    log_path: Path
    _process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM (listeners and connections close), SIGKILL after `grace`; idempotent."""
        terminate([self.pid], grace)
        self._process.wait(timeout=grace + 5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_embedded_proxy(workdir: Path | str, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 15.0,
                         run_id: str | None = None, on_spawn: OnSpawn | None = None) -> EmbeddedProxy:
    """Start `python -m brownout.faults.network.embedded` and wait until its API listens.

    The child dies with this process (die_with_parent). Its log is
    `<workdir>/embedded-proxy.log`.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ready = workdir / f"embedded-proxy.{os.getpid()}.{time.monotonic_ns()}.ready"
    log_path = workdir / "embedded-proxy.log"
    args = ["--host", host, "--port", str(port), "--ready-file", str(ready), "--parent-pid", str(os.getpid())]
    with open(log_path, "ab") as log:
        process = spawn_python("embedded-toxiproxy", "brownout.faults.network.embedded", args, run_id=run_id,
                               on_spawn=on_spawn, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if process.poll() is not None:
            raise SandboxError(f"embedded proxy exited with code {process.returncode} before listening; see {log_path}")
        if time.monotonic() > deadline:
            terminate([process.pid])
            process.wait()
            raise SandboxError(f"embedded proxy did not listen within {timeout:g}s; see {log_path}")
        time.sleep(0.02)
    info = json.loads(ready.read_text())
    ready.unlink()
    return EmbeddedProxy(url=info["url"], pid=process.pid, log_path=log_path, _process=process)
