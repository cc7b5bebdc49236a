"""Helpers the loadgen tests share: a test server script as a real process on loopback, a load run to its end."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from brownout.loadgen import LoadRun, start_load
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
