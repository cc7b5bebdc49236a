"""Harness side of the sandbox: start the supervisor, wait for readiness, find it again, stop it.

This is the only module the harness needs. It talks to the supervisor over its
control API with the standard library (no event loop), so it can be called from
the runner, the CLI or a pytest fixture alike.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brownout.errors import SandboxError
from brownout.processes import OnSpawn, free_port, pid_alive, spawn_python, terminate
from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.supervisor import STATE_FILE

__all__ = ["SandboxHandle", "find_running", "log_tail", "start_sandbox", "stop_from_state_file"]

SUPERVISOR_LOG = "supervisor.log"
KILL_WAIT = 2.0


def log_tail(workdir: Path, name: str, lines: int = 20) -> str:
    """The last lines of a component's log, for error messages."""
    path = workdir / f"{name}.log"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _get_json(url: str, timeout: float) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class SandboxHandle:
    """A running sandbox. `stop()` leaves no process behind or raises SandboxError."""

    control_url: str
    gateway_url: str
    embedder_url: str
    supervisor_pid: int
    workdir: Path
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def state(self, timeout: float = 5.0) -> dict[str, Any]:
        """The supervisor's view: components (status, pid, restarts, gpu), regions, profile."""
        try:
            return _get_json(self.control_url + "/sandbox/state", timeout)
        except (OSError, ValueError) as exc:
            raise SandboxError(
                f"sandbox supervisor at {self.control_url} does not answer: {exc}\n{log_tail(self.workdir, 'supervisor')}"
            ) from exc

    def control(self, path: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
        """POST to the control API (`/sandbox/...`); returns its JSON answer."""
        request = urllib.request.Request(
            self.control_url + path, data=json.dumps(body or {}).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SandboxError(f"sandbox control {path} failed: {exc.code} {exc.read().decode(errors='replace')}") from exc
        except (OSError, ValueError) as exc:
            raise SandboxError(f"sandbox control {path} failed: {exc}") from exc

    def _child_pids(self) -> list[int]:
        pids: list[int] = []
        try:
            pids = [c["pid"] for c in self.state(timeout=2.0)["components"] if c["pid"]]
        except SandboxError:
            pass
        try:
            saved = json.loads((self.workdir / STATE_FILE).read_text())
            pids += [c["pid"] for c in saved.get("components", []) if c.get("pid")]
        except (OSError, ValueError):
            pass
        return sorted(set(pids))

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the supervisor (it stops its children), then make sure every pid is gone."""
        children = self._child_pids()
        if pid_alive(self.supervisor_pid):
            os.kill(self.supervisor_pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(self.supervisor_pid) and not self._reaped():
            time.sleep(0.05)
        leftovers = terminate([self.supervisor_pid, *children], grace=1.0)
        deadline = time.monotonic() + KILL_WAIT  # SIGKILL is not instant: let the kernel finish the job
        while (survivors := [p for p in leftovers if pid_alive(p)]) and time.monotonic() < deadline:
            self._reaped()
            time.sleep(0.05)
        if survivors:
            raise SandboxError(f"sandbox processes survived stop: {survivors}")

    def _reaped(self) -> bool:
        """Reap our own child (a zombie still looks alive to kill(0))."""
        return self._process is not None and self._process.poll() is not None


def _handle_from_state(state: dict[str, Any], workdir: Path, process: subprocess.Popen[bytes] | None) -> SandboxHandle:
    return SandboxHandle(
        control_url=state["control_url"],
        gateway_url=state["gateway_url"],
        embedder_url=state["embedder_url"],
        supervisor_pid=state["supervisor_pid"],
        workdir=workdir,
        _process=process,
    )


def start_sandbox(config: SandboxConfig, workdir: Path, *, detach: bool = False, timeout: float = 30.0,
                  run_id: str | None = None, on_spawn: OnSpawn | None = None) -> SandboxHandle:
    """Start the supervisor and wait until every component is ready.

    `detach=True` puts the supervisor in its own session and does not tie it to
    the caller (for `brownout sandbox up`); find it again with `find_running`.
    `run_id` tags the supervisor and its components with the run; `on_spawn(name, pid)`
    journals the supervisor before it can act.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    existing = find_running(workdir)
    if existing is not None:
        raise SandboxError(f"a sandbox is already running from {workdir} (supervisor pid {existing.supervisor_pid})")
    port = free_port()
    args = ["--config", config.to_json(), "--port", str(port), "--workdir", str(workdir)] + (["--detach"] if detach else [])
    with open(workdir / SUPERVISOR_LOG, "ab") as logfile:
        process = spawn_python(
            "sandbox", "brownout.sandbox.supervisor", args, run_id=run_id, on_spawn=on_spawn,
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=detach,
        )
    control_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    state: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(
                f"sandbox supervisor exited with status {process.returncode} during start\n{log_tail(workdir, 'supervisor')}"
            )
        try:
            state = _get_json(control_url + "/sandbox/state", timeout=1.0)
        except (OSError, ValueError):
            time.sleep(0.1)
            continue
        if all(c["status"] == "ready" for c in state["components"]):
            return _handle_from_state(state, workdir, process)
        time.sleep(0.1)
    handle = SandboxHandle(control_url, "", "", process.pid, workdir, process)
    late = [c["name"] for c in (state or {}).get("components", []) if c["status"] != "ready"] or ["supervisor"]
    tails = "\n".join(f"--- {name}.log ---\n{log_tail(workdir, name)}" for name in late)
    handle.stop()
    raise SandboxError(f"sandbox not ready after {timeout:.0f}s; not ready: {', '.join(late)}\n{tails}")


def find_running(workdir: Path) -> SandboxHandle | None:
    """The sandbox started from `workdir`, if its supervisor is alive and answers."""
    try:
        saved = json.loads((Path(workdir) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not pid_alive(saved.get("supervisor_pid", -1)):
        return None
    try:
        state = _get_json(saved["control_url"] + "/sandbox/state", timeout=2.0)
    except (OSError, ValueError, KeyError):
        return None
    return _handle_from_state(state, Path(workdir), None)


def stop_from_state_file(workdir: Path, timeout: float = 10.0) -> list[int]:
    """Stop the sandbox recorded in `workdir` (live or half-dead). Returns the pids that were running (empty: none)."""
    workdir = Path(workdir)
    path = workdir / STATE_FILE
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    handle = _handle_from_state(saved, workdir, None)
    pids = [saved["supervisor_pid"]] + [c["pid"] for c in saved.get("components", []) if c.get("pid")]
    running = [p for p in pids if pid_alive(p)]
    handle.stop(timeout)
    path.unlink(missing_ok=True)
    return running
