"""Small process and socket helpers shared by the sandbox, the proxies and the runner.

The rule they serve: nothing brownout starts may outlive it. Every child is
started by `spawn_python`, which
- runs `python -P -m MODULE`: brownout is imported from its installation, never
  from a `brownout/` folder in the current directory;
- tells the child its parent's pid (`BROWNOUT_PARENT_PID`), so a child whose parent
  died while it was still starting notices at once (`become_child`) instead of
  adopting its new parent (init) as the one to watch;
- tags it and, through inheritance, all its descendants with the run that owns them
  (`BROWNOUT_RUN_ID`, `BROWNOUT_CHILD`), so `brownout recover` finds every one of
  them after the run was SIGKILLed, journaled or not (`tagged_processes`);
- hands the pid to `on_spawn` the moment it exists (the runner journals it there,
  before the child can act).
Children ask the kernel to kill them when their parent dies (PR_SET_PDEATHSIG), and
also watch their parent's pid, because PDEATHSIG fires on the death of the parent *thread*.

Test hook: `BROWNOUT_TEST_HOLD=NAME[,NAME...]@DIR` makes each child named NAME pause in
`become_child`, before it ties itself to its parent and before it is ready: it writes
`DIR/NAME.PID.held` and waits (at most `HOLD_LIMIT` seconds) until `DIR/release` exists.
The runner holds the same way as `rollback` just before it undoes a fault. Tests use it to
kill a run exactly inside a spawn window or mid-rollback. Never set it in production.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

__all__ = [
    "CHILD_ENV", "HOLD_ENV", "OnSpawn", "PARENT_ENV", "RUN_ENV", "become_child", "child_env", "die_with_parent", "free_port",
    "pdeathsig", "pid_alive", "process_start_time", "process_state", "python_command", "spawn_python",
    "tagged_processes", "terminate", "test_hold", "wait_port",
]

PARENT_ENV = "BROWNOUT_PARENT_PID"
RUN_ENV = "BROWNOUT_RUN_ID"
CHILD_ENV = "BROWNOUT_CHILD"
HOLD_ENV = "BROWNOUT_TEST_HOLD"
HOLD_LIMIT = 120.0
"""Seconds a held child waits for its release at most: a forgotten hold never hangs anything for good."""

OnSpawn = Callable[[str, int], None]

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
    """Arrange for this process to get `sig` when its parent dies; exit now if it already has.

    The expected parent is `parent_pid`, else `BROWNOUT_PARENT_PID` (set by `spawn_python`),
    else the current parent. Uses prctl on Linux, plus a watcher thread that polls the
    parent pid (works everywhere). A parent that died before prctl was called is seen at
    once: the current parent is no longer the expected one.
    """
    expected = parent_pid if parent_pid is not None else _expected_parent()
    pdeathsig(sig)
    if os.getppid() != expected:
        raise SystemExit(f"parent process {expected} is gone: exiting instead of running orphaned")

    def watch() -> None:
        while True:
            if os.getppid() != expected:
                os.kill(os.getpid(), sig)
                return
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _expected_parent() -> int:
    text = os.environ.get(PARENT_ENV, "")
    return int(text) if text.isdigit() else os.getppid()


def python_command(module: str, *args: str) -> list[str]:
    """`python -P -m module args`: `-P` keeps the current directory off sys.path (PYTHONPATH still counts)."""
    return [sys.executable, "-P", "-m", module, *args]


def child_env(base: Mapping[str, str] | None = None, *, run_id: str | None = None, name: str | None = None) -> dict[str, str]:
    """The environment of a child of this process: its parent pid, and the run and name it belongs to.

    Without `run_id`/`name` the child inherits this process's (a load worker belongs to its run's load).
    """
    env = dict(os.environ if base is None else base)
    env[PARENT_ENV] = str(os.getpid())
    if run_id is not None:
        env[RUN_ENV] = run_id
    if name is not None:
        env[CHILD_ENV] = name
    return env


def spawn_python(
    name: str,
    module: str,
    args: Iterable[str] = (),
    *,
    run_id: str | None = None,
    on_spawn: OnSpawn | None = None,
    **popen: Any,
) -> subprocess.Popen:
    """Start `python -P -m module args` as the child `name`; `on_spawn(name, pid)` runs before this returns.

    `on_spawn` is where a run journals the pid: the child is still importing then and has
    done nothing yet (its first step is `become_child`).
    """
    env = child_env(popen.pop("env", None), run_id=run_id, name=name if run_id is not None else None)
    process = subprocess.Popen(python_command(module, *args), env=env, **popen)
    if on_spawn is not None:
        on_spawn(name, process.pid)
    return process


def become_child(name: str, *, parent_pid: int | None = None, tie: bool = True) -> None:
    """First step of every brownout child: the test hold (if asked for), then die with the parent.

    `tie=False` (a detached sandbox) skips the tie but still honours the hold.
    """
    test_hold(name)
    if tie:
        die_with_parent(parent_pid)


def test_hold(name: str) -> None:
    """The test hook (see the module docstring): a no-op unless `BROWNOUT_TEST_HOLD` names `name`.

    Children call it from `become_child`; the runner calls it as `rollback` before each undo step.
    """
    names, _, folder = os.environ.get(HOLD_ENV, "").partition("@")
    if not folder or name not in names.split(","):
        return
    hold = Path(folder)
    (hold / f"{name}.{os.getpid()}.held").write_text(str(os.getppid()), encoding="utf-8")
    deadline = time.monotonic() + HOLD_LIMIT
    while not (hold / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def tagged_processes(run_id: str) -> dict[str, list[int]]:
    """Live processes whose environment names `run_id` (every descendant of that run's children), by child name."""
    marker = f"{RUN_ENV}={run_id}".encode()
    found: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in variables and pid_alive(int(entry.name)):
            prefix = f"{CHILD_ENV}=".encode()
            name = next((v[len(prefix):].decode(errors="replace") for v in variables if v.startswith(prefix)), "child")
            found.setdefault(name, []).append(int(entry.name))
    return found


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of a process (`R`, `S`, `T` stopped, `Z` zombie...), None when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


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
