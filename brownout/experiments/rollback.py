"""Undoing faults and stopping processes, with retries, from a live run or from a journal.

A failed undo step is retried with exponential backoff, journaled at every
attempt and reported: never hidden. Rollback continues with the next fault when
one cannot be undone, so one stuck fault does not leave the others applied.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from brownout.experiments.journal import Journal, JournalState, OpenProcess, stale_journals
from brownout.faults.base import FaultHandle
from brownout.faults.registry import DRIVERS
from brownout.processes import pid_alive, process_start_time, terminate

__all__ = ["RecoveryReport", "UndoResult", "recover_stale", "stop_journaled_process", "undo_fault"]

Log = Callable[[str], None]


@dataclass
class UndoResult:
    entry_id: str
    fault: str
    kind: str
    ok: bool
    attempts: int
    t: float
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def undo_fault(
    entry_id: str,
    handle: FaultHandle,
    journal: Journal,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    log: Log = lambda _: None,
) -> UndoResult:
    """Roll one fault back, retrying; journal every attempt. Never raises for a driver failure."""
    driver = DRIVERS.get(handle.kind)
    if driver is None:
        error = f"no driver for fault kind '{handle.kind}' in this brownout version"
        journal.fault_undo_failed(entry_id, 1, error)
        return UndoResult(entry_id, handle.fault, handle.kind, False, 1, time.time(), error=error)
    delay = backoff
    last_error = ""
    for attempt in range(1, retries + 2):
        try:
            detail = driver.rollback(handle)
        except Exception as exc:  # noqa: BLE001 - every failure is journaled, retried and reported
            last_error = f"{type(exc).__name__}: {exc}"
            journal.fault_undo_failed(entry_id, attempt, last_error)
            log(f"rollback of '{handle.fault}' failed (attempt {attempt}/{retries + 1}): {last_error}")
            if attempt <= retries:
                time.sleep(delay)
                delay *= 2
            continue
        journal.fault_undone(entry_id, detail)
        return UndoResult(entry_id, handle.fault, handle.kind, True, attempt, time.time(), detail)
    return UndoResult(entry_id, handle.fault, handle.kind, False, retries + 1, time.time(), error=last_error)


def _is_ours(pid: int, started: int | None) -> bool:
    """Guard against pid reuse: the same kernel start time as journaled (when known), and brownout's command line."""
    if started is not None and process_start_time(pid) != started:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"brownout" in cmdline


def stop_journaled_process(process: OpenProcess, grace: float = 5.0) -> list[int]:
    """Stop a process the journal says a run started; returns the pids that were still running.

    A sandbox is also stopped through its state file, which covers a run killed while
    the sandbox was starting (before its pids were journaled).
    """
    alive = [p for p in process.pids if pid_alive(p) and _is_ours(p, process.starts.get(str(p)))]
    stopped = terminate(alive, grace=grace)
    if process.stop.get("kind") == "sandbox" and process.stop.get("workdir"):
        from brownout.sandbox import stop_from_state_file

        stop_from_state_file(Path(process.stop["workdir"]))
    return stopped


@dataclass
class RecoveryReport:
    run_id: str
    experiment: str | None
    undone: list[UndoResult]
    stopped: dict[str, list[int]]

    @property
    def ok(self) -> bool:
        return all(u.ok for u in self.undone)


def _recover_one(state: JournalState, retries: int, backoff: float, log: Log) -> RecoveryReport:
    journal = Journal(state.path, state.run_id)
    try:
        journal.append("recovery_started", faults=len(state.faults), processes=len(state.processes))
        undone = []
        for fault in reversed(state.faults):
            handle = FaultHandle.from_dict(fault.handle)
            log(f"[{state.run_id}] undoing fault '{handle.fault}' ({handle.kind})")
            undone.append(undo_fault(fault.id, handle, journal, retries=retries, backoff=backoff, log=log))
        stopped = {}
        for process in reversed(state.processes):
            stopped[process.name] = stop_journaled_process(process)
            journal.process_stopped(process.name)
            log(f"[{state.run_id}] stopped {process.name} (pids still running were {stopped[process.name]})")
        journal.append("recovery_finished", ok=all(u.ok for u in undone))
    finally:
        journal.close()
    return RecoveryReport(state.run_id, state.experiment, undone, stopped)


def recover_stale(
    home: Path | None = None, *, retries: int = 3, backoff: float = 1.0, log: Log = lambda _: None
) -> list[RecoveryReport]:
    """Undo everything that journals of dead runs still show applied or running."""
    return [_recover_one(state, retries, backoff, log) for state in stale_journals(home)]
