"""Target processes for the process-fault tests: a small Python program that listens on a loopback port,
writes its pid file, and records every SIGUSR1/SIGTERM it receives (the truth of what was signalled)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from brownout.processes import pdeathsig

_PROGRAM = r"""
import os, signal, socket, sys, time
folder, marker = sys.argv[1], sys.argv[2]
def record(signum, frame):
    with open(os.path.join(folder, "signals"), "a") as fh:
        fh.write(signal.Signals(signum).name + "\n")
    if signum == signal.SIGTERM:
        sys.exit(0)
signal.signal(signal.SIGUSR1, record)
signal.signal(signal.SIGTERM, record)
sock = socket.create_server(("127.0.0.1", 0))
with open(os.path.join(folder, "port.tmp"), "w") as fh:
    fh.write(str(sock.getsockname()[1]))
os.replace(os.path.join(folder, "port.tmp"), os.path.join(folder, "port"))
with open(os.path.join(folder, "pid.tmp"), "w") as fh:  # last: the pid file says the port is there too
    fh.write(f"{os.getpid()}\n")
os.replace(os.path.join(folder, "pid.tmp"), os.path.join(folder, "pid"))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    time.sleep(0.05)
"""


def process_state(pid: int) -> str:
    """The kernel's state letter of a process: S sleeping, R running, T stopped, Z zombie."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@dataclass
class Target:
    process: subprocess.Popen
    folder: Path
    marker: str

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def pid_file(self) -> Path:
        return self.folder / "pid"

    @property
    def port(self) -> int:
        return int((self.folder / "port").read_text())

    def signals(self) -> list[str]:
        path = self.folder / "signals"
        return path.read_text().split() if path.exists() else []

    def state(self) -> str:
        return process_state(self.pid)


@contextmanager
def targets(root: Path, count: int = 1, *, user: int | None = None) -> Iterator[list[Target]]:
    """`count` target processes sharing one marker in their command line; all stopped (SIGCONT, SIGKILL) after."""
    marker = f"brownout-target-{os.getpid()}-{time.monotonic_ns()}"
    started: list[Target] = []

    def preexec() -> None:
        pdeathsig(signal.SIGKILL)
        if user is not None:
            os.setgid(user)
            os.setuid(user)

    try:
        for index in range(count):
            folder = root / f"target-{index}"
            folder.mkdir(parents=True)
            if user is not None:
                os.chown(root, user, user)
                os.chown(folder, user, user)
            python = sys.executable if user is None else "/usr/bin/python3"  # another user may not enter the venv
            process = subprocess.Popen([python, "-c", _PROGRAM, str(folder), marker], preexec_fn=preexec,  # noqa: PLW1509
                                       stdin=subprocess.DEVNULL)
            started.append(Target(process, folder, marker))
        deadline = time.monotonic() + 15
        for target in started:
            while not target.pid_file.exists():  # written last, after the port
                assert target.process.poll() is None and time.monotonic() < deadline, "target did not start"
                time.sleep(0.01)
        yield started
    finally:
        for target in started:
            if target.process.poll() is None:
                os.kill(target.pid, signal.SIGCONT)
                target.process.kill()
            target.process.wait(timeout=10)
