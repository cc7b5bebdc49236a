"""The load subprocess's entry: `python -m brownout.loadgen.process PLAN.json | --worker HOST:PORT [--local]`.

Why an entry apart from the engine (brownout.loadgen.engine): importing Locust
and the spec models takes a second or more, several on a busy machine, and a
master that imported them before starting its local workers made them import
one after the other, so they were ready after the first planned arrivals. This
module imports only gevent's patch, the standard library and brownout.processes: with several
workers it starts the local ones first, then imports the engine while they
import theirs (Locust workers retry until the master listens).
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # what importing Locust does, done before become_child starts its parent-watch thread

import json
import os
import subprocess
import sys
from pathlib import Path

from brownout.processes import become_child, free_port, spawn_python

__all__ = ["main", "master_address", "start_local_workers"]


def master_address(bind: str) -> tuple[str, int, str]:
    """(bind host, port, host local workers dial) for a `master_bind`; port 0 picks a free port."""
    host, _, port_text = bind.rpartition(":")
    host = host.strip("[]")
    port = int(port_text) or free_port(host)
    dial = "127.0.0.1" if host in ("0.0.0.0", "*", "") else host
    return host, port, dial


def start_local_workers(load: dict) -> tuple[list[subprocess.Popen], str | None]:
    """For a plan's `load` (as JSON) with several workers: its local worker processes, dialling the master's
    address, and that address as `master_bind` with its port fixed; ([], None) for one worker."""
    if load["workers"] + load["expect_workers"] <= 1:
        return [], None
    host, port, dial = master_address(load["master_bind"])
    procs = [spawn_python("load-worker", "brownout.loadgen.process", ["--worker", f"{dial}:{port}", "--local"])
             for _ in range(load["workers"])]
    return procs, f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _run_plan(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    procs, bind = start_local_workers(json.loads(text)["load"])
    try:
        import dataclasses

        from brownout.loadgen.control import BASE_URL_ENV
        from brownout.loadgen.engine import run_load
        from brownout.loadgen.plan import LoadPlan

        plan = LoadPlan.from_json(text)
        if bind is not None:
            plan = dataclasses.replace(plan, load=plan.load.model_copy(update={"master_bind": bind}))
        if os.environ.get(BASE_URL_ENV):  # the unredacted URL (plan.json, kept with the results, is redacted)
            plan = dataclasses.replace(plan, base_url=os.environ[BASE_URL_ENV])
        return run_load(plan, procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker = args[:1] == ["--worker"]
    become_child("load-worker" if worker else "load")
    from brownout.errors import LoadError

    try:
        if worker and len(args) in (2, 3) and args[2:] in ([], ["--local"]):
            from brownout.loadgen.engine import worker_main

            host, _, port = args[1].rpartition(":")
            return worker_main(host, int(port), local=args[2:] == ["--local"])
        if len(args) != 1:
            print("usage: python -m brownout.loadgen.process PLAN.json | --worker HOST:PORT [--local]", file=sys.stderr)
            return 2
        return _run_plan(Path(args[0]))
    except LoadError as exc:
        print(f"load error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
