"""Commands a fault runs: `command` faults, and the `restart` of `process.kill`.

A command is an argv list, run without a shell; a shell runs it only when asked
(`shell: true`, and then `run` is one string). This is what lets an experiment
drive docker compose, systemctl, tc netem or a cloud CLI without brownout knowing
them, and also why `brownout validate` and `--dry-run` print every command a file
can run: an experiment file is a script.
"""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.base import StrictModel
from brownout.spec.faults.common import FaultBase
from brownout.spec.units import Duration

__all__ = ["CommandFault", "CommandStep"]


class CommandStep(StrictModel):
    """One command: what to run, where, with which environment, for how long at most."""

    run: list[str] | str = Field(
        ..., description="argv list (no shell), e.g. [docker, compose, stop, model-b]; one string with `shell: true`."
    )
    shell: bool = Field(False, description="Run `run` through /bin/sh -c (pipes, redirections). Off unless asked.")
    timeout: Duration = Field(30.0, description="Killed (and failed) when it runs longer than this.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables (values may use ${VAR}).")
    cwd: str | None = Field(None, description="Working directory, relative to the experiment file; its folder when absent.")

    @model_validator(mode="after")
    def _argv_or_shell(self) -> "CommandStep":
        if self.shell and not isinstance(self.run, str):
            raise ValueError("with shell: true, run is one string (the shell command line)")
        if not self.shell and isinstance(self.run, str):
            raise ValueError("run is an argv list, e.g. [systemctl, stop, model-b]; set shell: true to run a command line")
        if not self.run or (isinstance(self.run, list) and not self.run[0]):
            raise ValueError("run is empty")
        if self.timeout <= 0:
            raise ValueError("timeout must be longer than 0")
        return self

    def display(self) -> str:
        """The command as a person would type it (what validate and dry runs print)."""
        line = self.run if isinstance(self.run, str) else shlex.join(self.run)
        return f"sh -c {shlex.quote(line)}" if self.shell else line


class CommandFault(FaultBase):
    """Run a command to inject a fault and another to undo it (docker compose stop/start, systemctl, tc, iptables).

    The rollback is journaled before inject runs, so `brownout recover` runs it after a crash.
    """

    kind: Literal["command"]
    inject: CommandStep = Field(..., description="Applies the fault; a non-zero exit fails the inject (and rollback runs).")
    rollback: CommandStep = Field(..., description="Undoes it; must be safe to run more than once and after a failed inject.")
    check: CommandStep | None = Field(
        None, description="Run after inject: a non-zero exit says the fault is not in effect, which fails the inject."
    )

    def steps(self) -> list[tuple[str, CommandStep]]:
        return [(name, step) for name, step in (("inject", self.inject), ("check", self.check), ("rollback", self.rollback))
                if step is not None]
