"""The runner's handle on the load subprocess: start it, watch it, read its records, stop it.

Nothing here imports gevent or Locust: the load runs in
`python -m brownout.loadgen.process`, and this side only reads the files it
writes (`status.json`, rewritten every 0.5 s, and `records.jsonl`).
"""

from __future__ import annotations

import bisect
import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from brownout.errors import LoadError
from brownout.loadgen.plan import RECORDS_FILE, STATUS_FILE, LoadPlan
from brownout.loadgen.progress import LoadProgress, read_progress
from brownout.loadgen.tail import JsonlTail
from brownout.processes import OnSpawn, spawn_python
from brownout.redact import redact_url

__all__ = ["BASE_URL_ENV", "LoadRun", "start_load"]

BASE_URL_ENV = "BROWNOUT_LOAD_BASE_URL"
"""The target URL as the load process must use it (credentials included); plan.json holds it redacted."""

LOG_FILE = "loadgen.log"
RECENT_HORIZON = 600.0           # seconds of records kept in memory for records_since
_PRUNE_AT = 4096                 # records past the horizon before they are cut (one cut, not one per call)


def start_load(
    plan: LoadPlan,
    ready_timeout: float | None = None,
    on_progress: Callable[[LoadProgress], None] | None = None,
    *,
    run_id: str | None = None,
    on_spawn: OnSpawn | None = None,
) -> LoadRun:
    """Write plan.json, spawn the load process, return once every worker is connected and it reports a state.

    `ready_timeout` defaults to 30 s plus `load.worker_timeout` (waiting for
    workers). `on_progress` sees each status snapshot while it starts: with
    several workers it carries the master's address (`master`) and how many
    workers have connected, for a "waiting for workers" line. Raises LoadError
    with the tail of its log if it exits or stays silent. `run_id` tags the process and its
    workers with the run; `on_spawn(name, pid)` journals it before it can act.
    """
    if ready_timeout is None:
        ready_timeout = 30.0 + plan.load.worker_timeout
    out = Path(plan.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in (STATUS_FILE, RECORDS_FILE):
        (out / name).unlink(missing_ok=True)
    plan_path = out / "plan.json"  # kept with the results: credentials in the URL go through the environment
    plan_path.write_text(dataclasses.replace(plan, base_url=redact_url(plan.base_url)).to_json(), encoding="utf-8")
    with (out / LOG_FILE).open("ab") as log:
        proc = spawn_python(
            "load", "brownout.loadgen.process", [str(plan_path)], run_id=run_id, on_spawn=on_spawn,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl+C reaches the runner, which stops the load itself
            env={**os.environ, BASE_URL_ENV: plan.base_url},
        )
    run = LoadRun(proc, out)
    deadline = time.monotonic() + ready_timeout
    while True:
        progress = run.progress()
        if progress is not None and progress.state != "starting":
            return run
        if progress is not None and on_progress is not None:
            on_progress(progress)
        code = proc.poll()
        if code is not None:
            raise LoadError(f"load process exited with {code} before starting:\n{run.log_tail()}")
        if time.monotonic() > deadline:
            run.stop(timeout=3)
            raise LoadError(f"load process did not start within {ready_timeout:g}s:\n{run.log_tail()}")
        time.sleep(0.05)


class LoadRun:
    """A running load subprocess. Cheap to poll: every call reads small files."""

    def __init__(self, proc: subprocess.Popen, out_dir: Path) -> None:
        self.proc = proc
        self.out_dir = out_dir
        self._tail = JsonlTail(out_dir / RECORDS_FILE)
        self._recent: list[dict[str, Any]] = []  # sorted by t_end, as `_ends`
        self._ends: list[float] = []
        self._lost: set[str] = set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def progress(self) -> LoadProgress | None:
        """The latest status snapshot (None before the process wrote one)."""
        return read_progress(self.out_dir / STATUS_FILE)

    def records_since(self, t: float) -> list[dict[str, Any]]:
        """Records that finished (`t_end`) at or after run-clock time t, within the last 10 minutes.

        Reads only what was appended since the previous call. Every record has
        t_end: for failures it is when the failure was seen, for drops when the
        arrival was dropped. Why sorted: the guards call this ten times a second,
        and a scan of ten minutes of records each time cost the runner more CPU
        than the rest of its work; records come nearly in t_end order (workers
        ship in batches), so keeping them sorted is an append, and a call costs
        a bisection and the records it returns.
        """
        recent, ends = self._recent, self._ends
        for record in self._tail.read():
            end = record["t_end"] or 0.0
            at = len(ends) if not ends or end >= ends[-1] else bisect.bisect_right(ends, end)
            ends.insert(at, end)
            recent.insert(at, record)
        if ends:
            cut = bisect.bisect_left(ends, ends[-1] - RECENT_HORIZON)
            if cut >= _PRUNE_AT:
                del ends[:cut], recent[:cut]
        return recent[bisect.bisect_left(ends, t):]

    def newly_lost_workers(self) -> list[str]:
        """Load workers the master lost (a remote one died or its network went) since the previous call."""
        progress = self.progress()
        lost = [w for w in (progress.lost_workers if progress is not None else []) if w not in self._lost]
        self._lost.update(lost)
        return lost

    def wait(self, timeout: float) -> int:
        """Exit code; raises LoadError if it is still running after `timeout`."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise LoadError(f"load process still running after {timeout:g}s") from exc

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (in-flight requests get about a second), then SIGKILL after `timeout`."""
        if self.proc.poll() is not None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        except ProcessLookupError:
            self.proc.wait()

    def record_paths(self) -> list[Path]:
        return [self.out_dir / RECORDS_FILE]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.out_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
