"""The run journal: an append-only, fsynced record of what brownout did and how to undo it.

Every fault is written as an *intent* (with the handle that undoes it) before
anything changes, then *applied*, then *undone*. Processes brownout starts are
written the moment they exist (`on_spawn`). After a crash or SIGKILL, `brownout
recover` (and the start of the next run) reads every journal whose owner is dead and
closes what is still open: processes first (every child of the run, journaled or
only tagged), then faults (newest first). A fault that acted only on helpers the run
itself started (its own sandbox, its own embedded proxy: `moot_with`) died with them.
`brownout recover --forget RUN_ID` closes a journal by hand (`forgotten`, with who did).

Layout: `$BROWNOUT_HOME/runs/<run_id>/journal.jsonl` (default home `~/.brownout`).
The journal never holds secrets: handles carry URLs, names and original values only.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from brownout import __version__
from brownout.errors import JournalError
from brownout.processes import OnSpawn, pid_alive, process_start_time

__all__ = ["Journal", "JournalState", "OpenFault", "OpenProcess", "brownout_home", "helpers_used", "read_journal",
           "stale_journals"]


def brownout_home() -> Path:
    """Where journals live; `BROWNOUT_HOME` overrides `~/.brownout`."""
    return Path(os.environ.get("BROWNOUT_HOME") or Path.home() / ".brownout")


def _new_run_id(name: str) -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{name}-{uuid.uuid4().hex[:6]}"


class Journal:
    """Appends entries for one run. One writer: the run's own process."""

    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self._fh = path.open("a", encoding="utf-8")

    @classmethod
    def create(cls, experiment: str, spec_document: dict[str, Any], home: Path | None = None) -> "Journal":
        run_id = _new_run_id(experiment)
        folder = (home or brownout_home()) / "runs" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        journal = cls(folder / "journal.jsonl", run_id)
        journal.append(
            "run_started",
            experiment=experiment,
            pid=os.getpid(),
            pid_start=process_start_time(os.getpid()),
            host=socket.gethostname(),
            version=__version__,
            python=platform.python_version(),
            platform=platform.platform(),
            spec=spec_document,
        )
        return journal

    def append(self, entry_type: str, **data: Any) -> None:
        entry = {"type": entry_type, "t": time.time(), **data}
        self._fh.write(json.dumps(entry, default=str) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def fault_intent(self, entry_id: str, handle: dict[str, Any], owned: dict[str, list[str]] | None = None) -> OpenFault:
        """Journal a fault before it is applied. `owned`: URLs of the helpers the run started, by journal
        name; the entry records which of them the fault acts on (`uses`, `moot_with`, see `helpers_used`)."""
        uses, exclusive = helpers_used(handle, owned or {})
        fault = OpenFault(entry_id, handle, False, moot_with=sorted(uses) if exclusive else [], uses=uses)
        self.append("fault_intent", id=entry_id, handle=handle, moot_with=fault.moot_with, uses=uses)
        return fault

    def fault_applied(self, entry_id: str, detail: dict[str, Any], handle: dict[str, Any] | None = None) -> None:
        """`handle` replaces the intent's when inject learned more (e.g. the pid it started)."""
        extra = {"handle": handle} if handle is not None else {}
        self.append("fault_applied", id=entry_id, detail=detail, **extra)

    def fault_undone(self, entry_id: str, detail: dict[str, Any]) -> None:
        self.append("fault_undone", id=entry_id, detail=detail)

    def fault_undo_failed(self, entry_id: str, attempt: int, error: str) -> None:
        self.append("fault_undo_failed", id=entry_id, attempt=attempt, error=error)

    def process_started(self, name: str, pids: list[int], stop: dict[str, Any]) -> None:
        """`stop` says how to stop it from another process (e.g. a sandbox workdir)."""
        starts = {str(p): process_start_time(p) for p in pids}
        self.append("process_started", name=name, pids=pids, starts=starts, stop=stop)

    def on_spawn(self, stop: dict[str, Any] | None = None) -> OnSpawn:
        """A `spawn_python` callback: journals a child's pid the moment it exists, before it can act."""
        return lambda name, pid: self.process_started(name, [pid], stop or {"kind": "pids"})

    def process_stopped(self, name: str) -> None:
        self.append("process_stopped", name=name)

    def forget(self, by: str, reason: str, open_entries: list[str]) -> None:
        """Close every open entry by hand: `brownout recover --forget`. Who did it stays on record."""
        self.append("forgotten", by=by, reason=reason, entries=open_entries)

    def finish(self, status: str) -> None:
        self.append("run_finished", status=status)
        self._fh.close()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()


@dataclass
class OpenFault:
    id: str
    handle: dict[str, Any]
    applied: bool
    failures: list[str] = field(default_factory=list)
    moot_with: list[str] = field(default_factory=list)        # the run's own helpers it acts on, and nothing else
    uses: dict[str, list[str]] = field(default_factory=dict)  # the run's own helpers it acts on -> their origins


_ORIGIN = re.compile(r"https?://[^/\s\"']+")


def helpers_used(handle: dict[str, Any], owned: dict[str, list[str]]) -> tuple[dict[str, list[str]], bool]:
    """Which of the run's own helpers a fault acts on (name -> origins), and whether it acts on nothing else.

    `owned` maps a helper's journal name to the URLs it serves. A fault acting only on them
    (a gpu-oom on the run's own sandbox, a toxic on its embedded proxy) is moot once they are
    gone; one that also acts elsewhere (a link on an attached sandbox through the run's own
    proxy) still needs its undo there, and only its part on a dead helper is moot.
    """
    origins = set(_ORIGIN.findall(json.dumps(handle.get("data", {}))))
    owners = {name: {o for url in urls for o in _ORIGIN.findall(url)} for name, urls in owned.items()}
    uses = {name: sorted(theirs & origins) for name, theirs in owners.items() if theirs & origins}
    covered = set().union(*uses.values()) if uses else set()
    return uses, bool(origins) and origins <= covered


@dataclass
class OpenProcess:
    name: str
    pids: list[int]
    stop: dict[str, Any]
    starts: dict[str, int | None] = field(default_factory=dict)   # pid -> kernel start time when journaled


@dataclass
class JournalState:
    """What a journal says is still open."""

    path: Path
    run_id: str
    owner_pid: int | None
    owner_start: int | None
    host: str | None
    experiment: str | None
    finished: bool
    faults: list[OpenFault]
    processes: list[OpenProcess]

    @property
    def foreign(self) -> bool:
        """Written by a run on another host (a shared home): its owner cannot be checked from here."""
        return self.host is not None and self.host != socket.gethostname()

    @property
    def owner_alive(self) -> bool:
        if self.finished or self.owner_pid is None or not pid_alive(self.owner_pid):
            return False
        return self.owner_start is None or process_start_time(self.owner_pid) == self.owner_start

    @property
    def has_open_work(self) -> bool:
        return bool(self.faults or self.processes)


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc}") from exc
    for line in text.splitlines():
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by SIGKILL mid-write: the entry before it still stands


def read_journal(path: Path) -> JournalState:
    """Replay a journal into what is still open (intents not undone, processes not stopped)."""
    faults: dict[str, OpenFault] = {}
    processes: dict[str, OpenProcess] = {}
    owner = owner_start = host = experiment = None
    finished = False
    for entry in _entries(path):
        kind = entry.get("type")
        if kind == "run_started":
            owner, experiment = entry.get("pid"), entry.get("experiment")
            owner_start, host = entry.get("pid_start"), entry.get("host")
        elif kind == "fault_intent":
            faults[entry["id"]] = OpenFault(entry["id"], entry["handle"], applied=False,
                                            moot_with=list(entry.get("moot_with", [])), uses=dict(entry.get("uses", {})))
        elif kind == "fault_applied" and entry["id"] in faults:
            faults[entry["id"]].applied = True
            if "handle" in entry:
                faults[entry["id"]].handle = entry["handle"]
        elif kind == "fault_undone":
            faults.pop(entry["id"], None)
        elif kind == "fault_undo_failed" and entry["id"] in faults:
            faults[entry["id"]].failures.append(entry.get("error", ""))
        elif kind == "process_starting":
            # Killed while a process was starting: it may be running without a pid on record yet.
            processes[entry["name"]] = OpenProcess(entry["name"], [], {"kind": entry.get("kind", "pids"), **entry.get("stop", {})})
        elif kind == "process_started":
            processes[entry["name"]] = OpenProcess(
                entry["name"], list(entry.get("pids", [])), dict(entry.get("stop", {})), dict(entry.get("starts", {})))
        elif kind == "process_stopped":
            processes.pop(entry["name"], None)
        elif kind == "forgotten":
            faults.clear()
            processes.clear()
        elif kind == "run_finished":
            finished = True
    return JournalState(
        path=path,
        run_id=path.parent.name,
        owner_pid=owner,
        owner_start=owner_start,
        host=host,
        experiment=experiment,
        finished=finished,
        faults=list(faults.values()),
        processes=list(processes.values()),
    )


def stale_journals(home: Path | None = None) -> list[JournalState]:
    """Journals of this host with open work whose owning process is gone, oldest first.

    Journals written on another host (a home shared over NFS) are left alone: from
    here a live run there looks dead. Recover them on the host that wrote them.
    """
    runs = (home or brownout_home()) / "runs"
    if not runs.is_dir():
        return []
    states = []
    for path in sorted(runs.glob("*/journal.jsonl")):
        state = read_journal(path)
        if state.has_open_work and not state.owner_alive and not state.foreign:
            states.append(state)
    return states
