"""Faults on local processes: kill, pause (SIGSTOP, a hung server whose connections stay open) or signal.

For stacks that are neither the sandbox nor Kubernetes: docker compose, VMs, systemd
services, a gateway and model servers on one box. Which processes are hit is chosen by
pid file, a regular expression over the full command line, or a TCP port they listen
on; the safety rails (`brownout.faults.process.rails`) refuse the rest.
"""

from __future__ import annotations

import re
import signal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from brownout.spec.base import StrictModel
from brownout.spec.faults.command import CommandStep
from brownout.spec.faults.common import FaultBase

__all__ = ["ProcessKill", "ProcessPause", "ProcessSelect", "ProcessSignal", "SignalName", "signal_number"]


def signal_number(name: str) -> int:
    """`SIGKILL`, `KILL` or `9` -> 9; ValueError naming the accepted spellings otherwise."""
    text = name.strip().upper()
    if text.isdigit():
        number = int(text)
        if number in {int(s) for s in signal.Signals}:
            return number
    else:
        try:
            return int(signal.Signals[text if text.startswith("SIG") else f"SIG{text}"])
        except KeyError:
            pass
    raise ValueError(f"'{name}' is not a signal: use a name such as SIGTERM, SIGKILL, SIGUSR1 or SIGHUP")


SignalName = Annotated[str, AfterValidator(lambda value: signal.Signals(signal_number(value)).name)]
"""A signal as written (`TERM`, `15`, `SIGTERM`), kept as its canonical name (`SIGTERM`)."""


class ProcessSelect(StrictModel):
    """Exactly one way to find the processes, and how many may match."""

    pid_file: str | None = Field(None, description="File holding the pid (relative to the experiment file).")
    cmdline: str | None = Field(None, description="Regular expression searched in the full command line (arguments joined by spaces).")
    port: int | None = Field(None, ge=1, le=65535, description="TCP port the process listens on (from /proc/net/tcp and tcp6).")
    max: int = Field(1, ge=1, le=64, description="Safety rail: refuse when more processes than this match.")
    allow_other_users: bool = Field(False, description="Safety rail override: also hit processes of other users.")

    @field_validator("cmdline")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"cmdline is not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> "ProcessSelect":
        given = [key for key in ("pid_file", "cmdline", "port") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError("set exactly one of pid_file, cmdline or port" + (f" (got {', '.join(given)})" if given else ""))
        return self

    def describe(self) -> str:
        if self.pid_file is not None:
            return f"pid file {self.pid_file}"
        if self.cmdline is not None:
            return f"command line matching /{self.cmdline}/"
        return f"listening on TCP port {self.port}"


_SELECT = Field(..., description="Which processes: pid_file, cmdline or port, and the most that may match.")


class ProcessKill(FaultBase):
    """Kill processes (default SIGKILL); `restart` runs at rollback, e.g. `systemctl start model-b`."""

    kind: Literal["process.kill"]
    select: ProcessSelect = _SELECT
    signal: SignalName = Field("SIGKILL", description="Signal sent (name or number).")
    restart: CommandStep | None = Field(None, description="Command run at rollback to start the service again.")


class ProcessPause(FaultBase):
    """SIGSTOP processes, SIGCONT at rollback: a hung server whose connections stay open."""

    kind: Literal["process.pause"]
    select: ProcessSelect = _SELECT


class ProcessSignal(FaultBase):
    """Send one signal (SIGHUP to reload, SIGUSR1, ...); nothing to undo."""

    kind: Literal["process.signal"]
    select: ProcessSelect = _SELECT
    signal: SignalName = Field(..., description="Signal sent (name or number).")
