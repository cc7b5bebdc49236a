"""Helpers the loadgen tests share: a test server script as a real process on loopback, a load run to its end."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from brownout.loadgen import LoadRun, start_load
from brownout.rundata.clock import RunClock
from brownout.rundata.records import load_records
from brownout.processes import free_port, wait_port


@contextmanager
def serve(script: Path, *args: str) -> Iterator[int]:
    """`python script PORT *args` on a free port, stopped afterwards; yields the port once it listens."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port), *args], cwd=Path(__file__).parents[2])
    try:
        assert wait_port("127.0.0.1", port, 15), f"{script.name} did not start"
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_to_end(plan, wait: float = 30.0, **start) -> tuple[LoadRun, object]:
    """Start the load process, wait for its clean exit, and return it with its records frame."""
    run = start_load(plan, **start)
    try:
        assert run.wait(wait) == 0, run.log_tail()
    finally:
        run.stop()
    return run, load_records(run.record_paths())


def run_on_time(plan, wait: float = 30.0) -> tuple[LoadRun, object, object]:
    """run_to_end for a test of the schedule itself; returns the plan that ran as well.

    A load process ready after the plan's first arrival (a busy machine importing Locust) did not run the plan
    the test meant: it runs once more, into a fresh folder, starting twice the start-up it measured from now."""
    asked = RunClock().now()
    run, df = run_to_end(plan, wait)
    ready = run.progress().ready_at
    if ready is not None and ready >= plan.start_at:
        lead = 2 * (ready - asked) + 1.0
        start_at = RunClock().now() + lead
        plan = replace(plan, start_at=start_at, end_at=start_at + plan.end_at - plan.start_at,
                       out_dir=plan.out_dir.with_name(plan.out_dir.name + "-again"))
        run, df = run_to_end(plan, wait + lead)
    return run, df, plan
