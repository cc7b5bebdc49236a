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

from brownout.errors import JournalError
from brownout.experiments.journal import (
    Journal,
    JournalState,
    OpenFault,
    OpenProcess,
    brownout_home,
    read_journal,
    stale_journals,
)
from brownout.faults.base import FaultHandle
from brownout.faults.registry import DRIVERS
from brownout.processes import pid_alive, process_start_time, tagged_processes, terminate

__all__ = ["RecoveryReport", "UndoResult", "forget_run", "undo_or_close", "recover_stale", "stop_journaled_process", "undo_fault"]

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
    moot: str | None = None   # closed without an undo: what it acted on died with its run (why, in words)


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


def stop_journaled_process(process: OpenProcess, tagged: list[int] | None = None, grace: float = 5.0) -> list[int]:
    """Stop a process the journal says a run started; returns the pids that were still running.

    `tagged` adds the live pids that carry the run's tag under this name (its descendants,
    and a child journaled only as `process_starting`). A sandbox is also stopped through
    its state file, which names its components.
    """
    alive = [p for p in process.pids if pid_alive(p) and _is_ours(p, process.starts.get(str(p)))]
    alive += [p for p in tagged or [] if p not in alive]
    stopped: list[int] = []
    if process.stop.get("kind") == "sandbox" and process.stop.get("workdir"):
        from brownout.sandbox import stop_from_state_file

        stopped = stop_from_state_file(Path(process.stop["workdir"]))
    terminate(alive, grace=grace)
    return sorted(set(stopped) | set(alive))


@dataclass
class RecoveryReport:
    run_id: str
    experiment: str | None
    undone: list[UndoResult]
    stopped: dict[str, list[int]]
    skipped: bool = False   # not attempted: the time budget for stale journals was spent

    @property
    def ok(self) -> bool:
        return not self.skipped and all(u.ok for u in self.undone)


def undo_or_close(fault: OpenFault, handle: FaultHandle, journal: Journal, gone: set[str], when: str, *,
                  retries: int, backoff: float, log: Log) -> UndoResult:
    """Undo a fault, or close it as moot where the run's own helpers it acted on are `gone`.

    Acting only on gone helpers: one attempt, then closed as moot. Acting also elsewhere: one
    attempt, closed as moot only when what failed was the part on a gone helper (its error
    names it); otherwise the usual retries.
    """
    dead = {name: origins for name, origins in fault.uses.items() if name in gone}
    if not dead:
        return undo_fault(fault.id, handle, journal, retries=retries, backoff=backoff, log=log)
    exclusive = bool(fault.moot_with) and set(fault.moot_with) <= dead.keys()
    result = undo_fault(fault.id, handle, journal, retries=0, log=log)
    if result.ok or not (exclusive or any(o in (result.error or "") for origins in dead.values() for o in origins)):
        return result
    reason = f"{'its target' if exclusive else 'its part on'} ({', '.join(sorted(dead))}) died {when}"
    detail = {"moot": reason, "error": result.error}
    journal.fault_undone(fault.id, detail)
    log(f"'{handle.fault}' closed: {reason}")
    return UndoResult(fault.id, handle.fault, handle.kind, True, result.attempts, time.time(), detail, moot=reason)


def _stop_children(state: JournalState, journal: Journal, log: Log) -> dict[str, list[int]]:
    """Every child of the run: journaled ones by name, then any the tag finds that were never journaled."""
    tagged = tagged_processes(state.run_id)
    stopped: dict[str, list[int]] = {}
    for process in reversed(state.processes):
        stopped[process.name] = stop_journaled_process(process, tagged.pop(process.name, []))
    for name, pids in tagged.items():  # started in a spawn window the journal never saw close
        stopped[name] = terminate(pids)
    for name, pids in stopped.items():
        journal.process_stopped(name)
        log(f"[{state.run_id}] {name}: " + (f"stopped pids {pids}" if pids else "already gone (it died with its run)"))
    return stopped


def _recover_one(state: JournalState, retries: int, backoff: float, log: Log) -> RecoveryReport:
    journal = Journal(state.path, state.run_id)
    try:
        journal.append("recovery_started", faults=len(state.faults), processes=len(state.processes))
        stopped = _stop_children(state, journal, log)
        survivors = set(tagged_processes(state.run_id))
        undone = []
        for fault in reversed(state.faults):
            handle = FaultHandle.from_dict(fault.handle)
            log(f"[{state.run_id}] undoing fault '{handle.fault}' ({handle.kind})")
            gone = set(fault.uses) - survivors
            undone.append(undo_or_close(fault, handle, journal, gone, f"with run {state.run_id}", retries=retries,
                                        backoff=backoff, log=log))
        journal.append("recovery_finished", ok=all(u.ok for u in undone))
    finally:
        journal.close()
    return RecoveryReport(state.run_id, state.experiment, undone, stopped)


def recover_stale(
    home: Path | None = None,
    *,
    retries: int = 3,
    backoff: float = 1.0,
    budget: float | None = None,
    log: Log = lambda _: None,
) -> list[RecoveryReport]:
    """Close what journals of dead runs still show applied or running.

    `budget` (seconds) bounds the whole pass: journals not reached by then are reported
    `skipped` and left for `brownout recover` (a run's start never waits long on them).
    """
    deadline = None if budget is None else time.monotonic() + budget
    reports = []
    for state in stale_journals(home):
        if deadline is not None and time.monotonic() > deadline:
            reports.append(RecoveryReport(state.run_id, state.experiment, [], {}, skipped=True))
            continue
        reports.append(_recover_one(state, retries, backoff, log))
    return reports


def forget_run(run_id: str, by: str, home: Path | None = None) -> JournalState:
    """Close a journal by hand (`brownout recover --forget RUN_ID`); returns what it still showed open.

    Refuses a run whose owner is alive. Undoes nothing: the person who forgets says they
    dealt with it, and the journal records who did.
    """
    path = (home or brownout_home()) / "runs" / run_id / "journal.jsonl"
    if not path.is_file():
        raise JournalError(f"no journal for run '{run_id}' under {path.parent.parent}")
    state = read_journal(path)
    if state.owner_alive:
        raise JournalError(f"run '{run_id}' is still running (pid {state.owner_pid}): stop it instead of forgetting it")
    journal = Journal(path, run_id)
    try:
        journal.forget(by, "closed by hand with `brownout recover --forget`",
                       [f.id for f in state.faults] + [p.name for p in state.processes])
    finally:
        journal.close()
    return state
