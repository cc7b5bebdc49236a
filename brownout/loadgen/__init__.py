"""Token-aware load generation on Locust, run in a subprocess the runner controls.

    plan = LoadPlan(base_url, load, model, outcome, start_at, end_at, out_dir, base_dir)
    run = start_load(plan)          # returns once the subprocess is up
    run.progress(); run.records_since(t)
    run.wait(timeout) / run.stop()
    brownout.rundata.records.load_records(run.record_paths())

This package's top level never imports gevent or Locust; `run_worker` does, so
call it only in a process of its own (`brownout worker`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brownout.loadgen.control import LoadRun, start_load
    from brownout.loadgen.plan import LoadPlan
    from brownout.loadgen.progress import LoadProgress

__all__ = [
    "LoadPlan",
    "LoadProgress",
    "LoadRun",
    "run_worker",
    "start_load",
]

_LAZY = {"LoadRun": "control", "start_load": "control", "LoadPlan": "plan", "LoadProgress": "progress"}
"""Imported on first use: the load subprocess's entry (brownout.loadgen.process) must start its workers before
anything imports the spec models."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'brownout.loadgen' has no attribute '{name}'")
    return getattr(importlib.import_module(f"brownout.loadgen.{_LAZY[name]}"), name)


def run_worker(master_host: str, master_port: int) -> int:
    """Serve as a load worker for a master at host:port (imports gevent: own process only)."""
    from brownout.loadgen.engine import worker_main

    return worker_main(master_host, master_port)
