"""Token-aware load generation on Locust, run in a subprocess the runner controls.

    plan = LoadPlan(base_url, load, model, outcome, start_at, end_at, out_dir, base_dir)
    run = start_load(plan)          # returns once the subprocess is up
    run.progress(); run.records_since(t)
    run.wait(timeout) / run.stop()
    brownout.rundata.records.load_records(run.record_paths())

This package's top level never imports gevent or Locust; `run_worker` does, so
call it only in a process of its own (`brownout worker`).
"""

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


def run_worker(master_host: str, master_port: int) -> int:
    """Serve as a load worker for a master at host:port (imports gevent: own process only)."""
    from brownout.loadgen.process import worker_main

    return worker_main(master_host, master_port)
