"""Exit codes, in one place: the CLI returns them and results.json records them.

    0   passed: every SLO held (also a successful dry run)
    1   failed: SLOs not met (the system did not degrade gracefully enough)
    2   invalid input: the experiment file or the command line is wrong
    3   aborted: a stop condition fired; faults were rolled back
    4   not steady: the steady-state hypothesis failed; nothing was injected
    5   error: harness or environment error (target unreachable, a rollback failed, ...)
    6   inconclusive: the only unmet objectives were judged untrustworthy because the harness
        itself was saturated (its latency figures could not be trusted); a CI job may retry
    7   unscored (`brownout gate` only): the results have no score to gate, because the run was
        interrupted or aborted by a stop condition before it finished
    128 + N  interrupted by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP) after rolling back
"""

from __future__ import annotations

import signal

__all__ = ["EXIT_CODES", "interrupted_exit_code"]

EXIT_CODES: dict[str, int] = {
    "passed": 0,
    "dry_run": 0,
    "failed": 1,
    "invalid": 2,
    "aborted": 3,
    "not_steady": 4,
    "error": 5,
    "inconclusive": 6,
    "unscored": 7,
    "interrupted": 128 + signal.SIGINT,
}


def interrupted_exit_code(signum: int | None) -> int:
    """128 + the signal number, the shell's convention; SIGINT's when unknown."""
    return 128 + (signum or signal.SIGINT)
