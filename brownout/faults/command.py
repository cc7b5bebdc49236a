"""`command`: a fault injected and undone by commands the experiment names (docker compose, systemctl, tc, iptables).

The handle holds both commands as they will run; the runner journals it before
`inject` runs, so a run killed mid-fault leaves `brownout recover` the rollback to run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.command import CommandFault
from brownout.faults.base import FaultDriver, FaultHandle, Resolution, ResolvedTarget
from brownout.faults.commands import run_step, step_data

__all__ = ["CommandDriver"]


class CommandDriver(FaultDriver):
    """Handle data: `inject`, `check` (or None) and `rollback` steps, and the `log` their output goes to."""

    kind = "command"
    spec: CommandFault

    def resolve(self) -> Resolution:
        targets = [ResolvedTarget("command", name, {"run": step.display()}) for name, step in self.spec.steps()]
        action = "; ".join(f"{name}: {step.display()}" for name, step in self.spec.steps())
        return Resolution(self.spec.name, self.kind, f"run commands ({action})", targets, len(targets))

    def prepare(self) -> FaultHandle:
        base = self.context.base_dir
        return FaultHandle(self.spec.name, self.kind, {
            "inject": step_data(self.spec.inject, base),
            "check": step_data(self.spec.check, base) if self.spec.check is not None else None,
            "rollback": step_data(self.spec.rollback, base),
            "log": str(Path(self.context.log_dir or ".") / f"{self.spec.name}.log"),
        })

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        detail = {"inject": run_step(data["inject"], f"fault '{self.spec.name}' inject", data["log"], InjectError)}
        if data["check"] is not None:
            detail["check"] = run_step(data["check"], f"fault '{self.spec.name}' check", data["log"], InjectError)
        return detail

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        return {"rollback": run_step(handle.data["rollback"], f"fault '{handle.fault}' rollback", handle.data["log"],
                                     RollbackError)}
