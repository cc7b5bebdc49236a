"""Safety rails of process faults. Each refusal names its rule, and nothing is signalled before they pass.

    process-pid-1           never pid 1 (init: the machine or the container goes with it)
    process-brownout-itself never this process nor any of its ancestors (the shell, CI runner, test process)
    process-matches-nothing a selector that matches nothing is a typo, not a fault
    process-max             more matches than `select.max`: the selector is broader than meant
    process-other-user      processes of other users, unless `select.allow_other_users`
"""

from __future__ import annotations

import os

from brownout.errors import RefusedError
from brownout.spec.faults.process import ProcessSelect
from brownout.faults.process.procfs import ProcessInfo, parent_pid

__all__ = ["ancestry", "check_rails"]


def ancestry(pid: int | None = None) -> set[int]:
    """`pid` (default: this process) and every ancestor up to init."""
    chain: set[int] = set()
    current: int | None = os.getpid() if pid is None else pid
    while current and current not in chain:
        chain.add(current)
        current = parent_pid(current)
    return chain


def check_rails(fault: str, select: ProcessSelect, matched: list[ProcessInfo]) -> list[ProcessInfo]:
    """The matched processes when every rail passes; RefusedError naming the first rule broken otherwise."""
    what = select.describe()
    if not matched:
        raise RefusedError("process-matches-nothing", f"fault '{fault}': no process found by {what}")
    if any(p.pid == 1 for p in matched):
        raise RefusedError("process-pid-1", f"fault '{fault}': {what} matches pid 1 (init)")
    ours = ancestry()
    hit = sorted(p.pid for p in matched if p.pid in ours)
    if hit:
        raise RefusedError("process-brownout-itself",
                           f"fault '{fault}': {what} matches brownout itself or its ancestors (pids {hit})")
    if len(matched) > select.max:
        pids = [p.pid for p in matched]
        raise RefusedError("process-max", f"fault '{fault}': {what} matches {len(matched)} processes {pids}, "
                                          f"more than select.max={select.max}")
    if not select.allow_other_users:
        strangers = sorted(p.pid for p in matched if p.uid != os.getuid())
        if strangers:
            raise RefusedError("process-other-user", f"fault '{fault}': pids {strangers} belong to another user "
                                                     "(set select.allow_other_users: true to allow)")
    return matched
