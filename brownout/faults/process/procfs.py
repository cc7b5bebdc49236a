"""Finding local processes from /proc: by pid file, by command line, by the TCP port they listen on.

No psutil: /proc/net/tcp{,6} gives the inodes of listening sockets, /proc/<pid>/fd
links name `socket:[inode]`, /proc/<pid>/status the real uid and parent pid.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from brownout.processes import process_start_time

__all__ = ["ProcessInfo", "by_cmdline", "by_pid_file", "by_port", "info", "listening_inodes", "parent_pid"]

_PROC = Path("/proc")
_LISTEN = "0A"


@dataclass(frozen=True)
class ProcessInfo:
    """One process as seen when it was picked; `start` (kernel start time) guards later signals against pid reuse."""

    pid: int
    start: int | None
    uid: int | None
    cmdline: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _status(pid: int, key: str) -> str | None:
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def parent_pid(pid: int) -> int | None:
    value = _status(pid, "PPid")
    return int(value) if value is not None else None


def _cmdline(pid: int) -> str | None:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")


def info(pid: int) -> ProcessInfo | None:
    """The process, or None when it is gone or a zombie."""
    state = _status(pid, "State")
    cmdline = _cmdline(pid)
    if state is None or state.startswith("Z") or cmdline is None:
        return None
    uid = _status(pid, "Uid")
    return ProcessInfo(pid, process_start_time(pid), int(uid.split()[0]) if uid else None, cmdline)


def _pids() -> Iterator[int]:
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def by_pid_file(path: Path) -> list[ProcessInfo]:
    """The process named by a pid file; none when the file is missing, unreadable or names no process."""
    try:
        text = path.read_text().strip()
    except OSError:
        return []
    if not text.isdigit():
        return []
    found = info(int(text))
    return [found] if found is not None else []


def by_cmdline(pattern: str) -> list[ProcessInfo]:
    """User processes whose full command line matches (kernel threads have none and are never matched)."""
    regex = re.compile(pattern)
    out = []
    for pid in _pids():
        found = info(pid)
        if found is not None and found.cmdline and regex.search(found.cmdline):
            out.append(found)
    return sorted(out, key=lambda p: p.pid)


def listening_inodes(port: int) -> set[str]:
    """Inodes of TCP sockets listening on `port`, IPv4 and IPv6."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def by_port(port: int) -> list[ProcessInfo]:
    """Processes holding a socket that listens on `port` (only those whose fds this user can read)."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not wanted:
        return []
    out = []
    for pid in _pids():
        try:
            fds = list((_PROC / str(pid) / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if str(fd.readlink()) in wanted:
                    found = info(pid)
                    if found is not None:
                        out.append(found)
                    break
            except OSError:
                continue
    return sorted(out, key=lambda p: p.pid)
