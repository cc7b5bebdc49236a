"""Running the commands of `command` faults and of `process.kill`'s restart: bounded, logged, journal-safe.

A step is turned into plain JSON (`step_data`) when the fault is prepared, so the
journal holds exactly what will run and `brownout recover` can run a rollback from
another process. Output goes to the fault log (appended, one header per run of a
step); the last lines also go into the result, for the timeline and the console.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from brownout.errors import BrownoutError
from brownout.spec.faults.command import CommandStep

__all__ = ["TAIL_CHARS", "run_step", "step_data"]

TAIL_CHARS = 2000
"""Characters of output kept in a step's result (the whole output is in the fault log)."""


def step_data(step: CommandStep, base_dir: str | None) -> dict[str, Any]:
    """What the journal keeps of a step: the command, an absolute working directory, env and timeout."""
    base = Path(base_dir or ".").resolve()
    return {
        "run": step.run if isinstance(step.run, str) else list(step.run),
        "shell": step.shell,
        "display": step.display(),
        "timeout": step.timeout,
        "env": dict(step.env),
        "cwd": str((base / step.cwd).resolve() if step.cwd else base),
    }


def _log(path: str | None, text: str) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


def run_step(data: dict[str, Any], what: str, log_path: str | None, error: type[BrownoutError]) -> dict[str, Any]:
    """Run one step; `error` (with the exit code and the output's tail) when it fails or outlives its timeout."""
    argv = ["/bin/sh", "-c", data["run"]] if data["shell"] else list(data["run"])
    started = time.time()
    _log(log_path, f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {what}: {data['display']} (cwd {data['cwd']})\n")
    try:  # its own process group, so a timeout kills what a shell started too (and the pipe closes)
        process = subprocess.Popen(argv, cwd=data["cwd"], env={**os.environ, **data["env"]}, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        _log(log_path, f"=== could not start: {exc}\n")
        raise error(f"{what} `{data['display']}` could not start: {exc}") from None
    try:
        raw, _ = process.communicate(timeout=data["timeout"])
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate()[0].decode(errors="replace")
        _log(log_path, output + f"=== killed after its {data['timeout']:g}s timeout\n")
        raise error(f"{what} `{data['display']}` ran past its {data['timeout']:g}s timeout; output: {output[-500:]!r}") from None
    output = raw.decode(errors="replace")
    _log(log_path, output + f"=== exit {process.returncode} after {time.time() - started:.2f}s\n")
    if process.returncode != 0:
        raise error(f"{what} `{data['display']}` exited {process.returncode}; output: {output[-500:]!r}")
    return {"command": data["display"], "exit": 0, "seconds": round(time.time() - started, 3), "output": output[-TAIL_CHARS:]}
