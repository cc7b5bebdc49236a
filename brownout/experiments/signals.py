"""How a run ends on a signal: SIGINT, SIGTERM, SIGHUP and SIGQUIT become RunInterrupted,
which unwinds into the runner's `finally` and its rollback."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["HANDLED_SIGNALS", "RunInterrupted", "SignalGate"]

Log = Callable[..., None]


HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
"""Signals that roll back and end the run (SIGHUP: the terminal or SSH session went away)."""


class SignalGate:
    """Turns SIGINT/SIGTERM/SIGHUP/SIGQUIT into RunInterrupted, except while a process is starting.

    While `deferred()` is active a signal is only noted, so the starting process's handle
    is stored (and later stopped) before the interruption lands. A flag, not a blocked
    signal mask: children inherit the mask, and a child that cannot receive SIGTERM
    would not die with us.
    """

    def __init__(self, log: Log) -> None:
        self.log = log
        self.received: list[int] = []   # 0 marks "rollback started: signals no longer interrupt"
        self._deferring = 0
        self._pending: int | None = None

    def handle(self, signum: int, _frame: Any) -> None:
        if self.received:
            self.log(f"{signal.Signals(signum).name} again: rollback is in progress, please wait")
            return
        if self._deferring:
            self._pending = self._pending or signum
            return
        self.received.append(signum)
        raise RunInterrupted(signum)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            if not self._deferring and self._pending is not None and not self.received:
                signum, self._pending = self._pending, None
                self.received.append(signum)
                raise RunInterrupted(signum)

    def close_for_rollback(self) -> None:
        if not self.received:
            self.received.append(0)

    @property
    def signum(self) -> int | None:
        return next((s for s in self.received if s), None)


class RunInterrupted(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM; BaseException so no `except Exception` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)
