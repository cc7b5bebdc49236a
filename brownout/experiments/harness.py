"""Is the harness itself still working? Its load process, fault proxies and probe loop.

Checked on every tick of the phase loop. A component that died or stopped answering
ends the run as a harness error (`HarnessError`, exit 5) after rollback, with a line
naming it: what it failed to do is the harness's failure, never scored as the target's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brownout.errors import HarnessError
from brownout.processes import pid_alive, process_state

__all__ = ["STALE_AFTER", "Helper", "check_harness", "helpers_of"]

STALE_AFTER = 20.0
"""Seconds without a status rewrite (every 0.5 s normally) after which the load process counts as hung;
generous, because a saturated machine delays it by seconds."""


@dataclass(frozen=True)
class Helper:
    """One harness process to watch. `heartbeat`: a file it rewrites while it works (None: none)."""

    name: str
    pid: int
    heartbeat: Path | None = None
    may_exit_after: float | None = None   # run-clock time from which a clean exit is its normal end


def _problem(helper: Helper, now: float) -> str | None:
    if not pid_alive(helper.pid):
        if helper.may_exit_after is not None and now >= helper.may_exit_after:
            return None
        return f"the {helper.name} (pid {helper.pid}) died"
    if process_state(helper.pid) == "T":
        return f"the {helper.name} (pid {helper.pid}) is stopped (SIGSTOP) and does nothing"
    if helper.heartbeat is not None:
        try:
            age = time.time() - helper.heartbeat.stat().st_mtime
        except OSError:
            return None  # not written yet: start-up is watched by whoever started it
        if age > STALE_AFTER:
            return f"the {helper.name} (pid {helper.pid}) stopped answering: no status for {age:.0f}s"
    return None


def check_harness(helpers: list[Helper], probes_running: bool | None, now: float, phase: str) -> None:
    """Raise HarnessError naming the first harness component that died or hangs."""
    problems = [p for p in (_problem(h, now) for h in helpers) if p]
    if probes_running is False:
        problems.append("the probe loop stopped")
    if problems:
        raise HarnessError(f"harness failure during {phase}: {problems[0]}; the run is not scored "
                           "(the target is not to blame)")


def helpers_of(load_run: Any, status_file: Path | None, load_end: float, target: Any) -> list[Helper]:
    """The processes of a run to watch: its load (with its status file) and its fault proxies."""
    helpers = [Helper("load process", load_run.pid, status_file, load_end)] if load_run is not None else []
    if target is not None:
        names = {"stream-proxy": "stream proxy", "embedded-toxiproxy": "embedded Toxiproxy"}
        helpers += [Helper(names[name], thing.pid) for name, thing in target.helpers() if name in names]
    return helpers
