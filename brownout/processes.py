"""Small process and socket helpers shared by the sandbox, the proxies and the runner.

The rule they serve: nothing brownout starts may outlive it. Children ask the
kernel to kill them when their parent dies (PR_SET_PDEATHSIG), and also watch
their parent's pid, because PDEATHSIG fires on the death of the parent *thread*.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import threading
import time
from typing import Iterable

__all__ = ["die_with_parent", "free_port", "pdeathsig", "pid_alive", "process_start_time", "terminate", "wait_port"]

_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the caller binds it soon after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def pdeathsig(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` when the parent dies (Linux; a no-op elsewhere).

    Safe as a `subprocess` preexec_fn: one system call, no threads, no locks; it
    survives exec, so it also guards programs that are not brownout's.
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    except OSError:
        pass


def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGTERM) -> None:
    """Arrange for this process to get `sig` when its parent dies.

    Uses prctl on Linux, plus a watcher thread that polls the parent pid (works
    everywhere, and covers a parent that dies before prctl is called).
    """
    expected = parent_pid if parent_pid is not None else os.getppid()
    pdeathsig(sig)

    def watch() -> None:
        while True:
            if os.getppid() != expected:
                os.kill(os.getpid(), sig)
                return
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a process (clock ticks since boot), or None when it is gone.

    A pid plus its start time names one process for good: after the pid is reused
    the start time differs, so a journal can never signal a stranger.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def terminate(pids: Iterable[int], grace: float = 5.0) -> list[int]:
    """SIGTERM the pids, wait up to `grace` seconds, SIGKILL survivors. Returns pids that were alive."""
    alive = [p for p in pids if pid_alive(p)]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(pid_alive(p) for p in alive):
        time.sleep(0.05)
    for pid in alive:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return alive


def wait_port(host: str, port: int, timeout: float) -> bool:
    """Wait until a TCP connect to host:port succeeds; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False
