"""`process.kill`, `process.pause` and `process.signal`: signals to local processes, behind the safety rails.

Targets are picked (and the rails checked) in `prepare`, before the journal's intent;
the handle keeps each pid with its kernel start time, so neither the live rollback nor
`brownout recover` can ever signal a process that took over a reused pid.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.process import ProcessKill, ProcessPause, ProcessSelect, ProcessSignal
from brownout.faults.base import FaultDriver, FaultHandle, Resolution, ResolvedTarget
from brownout.faults.commands import run_step, step_data
from brownout.faults.process.procfs import ProcessInfo, by_cmdline, by_pid_file, by_port
from brownout.faults.process.rails import check_rails
from brownout.processes import process_start_time

__all__ = ["ProcessKillDriver", "ProcessPauseDriver", "ProcessSignalDriver", "find_processes"]


def find_processes(select: ProcessSelect, base_dir: str | None) -> list[ProcessInfo]:
    """What the selector matches right now (rails not applied)."""
    if select.pid_file is not None:
        return by_pid_file(Path(base_dir or ".") / select.pid_file)
    if select.cmdline is not None:
        return by_cmdline(select.cmdline)
    return by_port(select.port or 0)


def _signal(targets: list[dict[str, Any]], signum: int) -> list[int]:
    """Send `signum` to each target still the same process (same start time); returns the pids signalled."""
    sent = []
    for target in targets:
        pid = target["pid"]
        if target.get("start") is not None and process_start_time(pid) != target["start"]:
            continue  # gone, or its pid now belongs to another process
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue
        sent.append(pid)
    return sent


class _ProcessDriver(FaultDriver):
    """Shared by the three kinds; subclasses say which signal goes in and what rollback does."""

    spec: ProcessKill | ProcessPause | ProcessSignal
    verb = ""

    def signal_name(self) -> str:
        return getattr(self.spec, "signal", "SIGSTOP")

    def _picked(self) -> list[ProcessInfo]:
        return check_rails(self.spec.name, self.spec.select, find_processes(self.spec.select, self.context.base_dir))

    def _action(self, count: int) -> str:
        return f"{self.verb} {count} process(es) by {self.spec.select.describe()} ({self.signal_name()})"

    def resolve(self) -> Resolution:
        picked = self._picked()
        targets = [ResolvedTarget("process", str(p.pid), {"cmdline": p.cmdline, "uid": p.uid}) for p in picked]
        return Resolution(self.spec.name, self.kind, self._action(len(picked)), targets, len(picked))

    def prepare(self) -> FaultHandle:
        data: dict[str, Any] = {"signal": self.signal_name(), "targets": [p.to_dict() for p in self._picked()]}
        return FaultHandle(self.spec.name, self.kind, data)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        sent = _signal(handle.data["targets"], signal.Signals[handle.data["signal"]])
        if not sent:
            raise InjectError(f"fault '{self.spec.name}': every picked process was gone before it could be signalled")
        return {"pids": sent, "signal": handle.data["signal"], "action": self._action(len(sent))}


class ProcessKillDriver(_ProcessDriver):
    """Handle data: `signal`, `targets`, and `restart` (a command step) with its `log`, when given."""

    kind = "process.kill"
    spec: ProcessKill
    verb = "kill"

    def prepare(self) -> FaultHandle:
        handle = super().prepare()
        if self.spec.restart is not None:
            handle.data["restart"] = step_data(self.spec.restart, self.context.base_dir)
            handle.data["log"] = str(Path(self.context.log_dir or ".") / f"{self.spec.name}.log")
        return handle

    def resolve(self) -> Resolution:
        res = super().resolve()
        if self.spec.restart is None:
            return res
        restart = ResolvedTarget("command", "restart", {"run": self.spec.restart.display()})
        return Resolution(res.fault, res.kind, f"{res.action}; at rollback run: {self.spec.restart.display()}",
                          [*res.targets, restart], res.candidates)

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        restart = handle.data.get("restart")
        if restart is None:
            return {"restart": None}
        return {"restart": run_step(restart, f"fault '{handle.fault}' restart", handle.data.get("log"), RollbackError)}


class ProcessPauseDriver(_ProcessDriver):
    """SIGSTOP in, SIGCONT out (also from `brownout recover`)."""

    kind = "process.pause"
    spec: ProcessPause
    verb = "pause"

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        return {"resumed": _signal(handle.data["targets"], signal.SIGCONT)}


class ProcessSignalDriver(_ProcessDriver):
    """One signal; nothing to undo."""

    kind = "process.signal"
    spec: ProcessSignal
    verb = "signal"

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        return {}
