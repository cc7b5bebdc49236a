"""The load subprocess's engine (`python -m brownout.loadgen.process PLAN.json` runs it).

It runs Locust's engine (gevent), which the runner process never imports.
One worker: a LocalRunner in this process. N workers: this process is a
MasterRunner on `load.master_bind` over N local worker processes
(`python -m brownout.loadgen.process --worker HOST:PORT --local`, started by
the entry before it imports this, and reusing the plan's clock anchor: one
schedule on one axis, exactly); with
`load.expect_workers`, it also waits for that many remote ones
(`brownout worker --master HOST:PORT`) before sending anyone the plan, and
fails with a LoadError naming the address when they do not come in time.
Remote workers need the dataset and tokenizer files at the same paths and a
synchronized wall clock (records are placed on the run clock, see records.py).

Records travel from workers to the master in batches over Locust's own
channel (custom message `brownout_records`, every 0.5 s and once more when a
worker finishes) and only the master writes `records.jsonl`. Why: one file,
one writer and one set of counters, it works the same for workers on other
machines (`brownout worker`), and the runner's guards see records within ~0.5 s.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from locust.env import Environment

from brownout.errors import LoadError
from brownout.loadgen.datasets import load_prompts, mean_output_tokens
from brownout.loadgen.driver import STOP_DRAIN, LocalSink, WorkerContext, driver_user
from brownout.loadgen.health import LoopHealth
from brownout.loadgen.plan import RECORDS_FILE, STATUS_FILE, LoadPlan
from brownout.loadgen.process import master_address
from brownout.loadgen.progress import Collector, LoadState, write_progress
from brownout.loadgen.schedule import nominal_rate
from brownout.loadgen.tokenizer import load_tokenizer
from brownout.processes import terminate, wait_port
from brownout.rundata.clock import RunClock
from brownout.rundata.records import RecordWriter, RequestRecord

__all__ = ["RemoteSink", "run_load", "worker_main"]

STATUS_EVERY = 0.5         # seconds between status rewrites and record batches
END_SLACK = 5.0            # seconds past end_at + drain before the master gives up on a worker
STOP_SLACK = STOP_DRAIN + 3.0
MASTER_WAIT = 60.0         # seconds a worker waits for the master's port before Locust's own retries take over
LOST_AFTER = 6.0           # seconds a worker stays missing (Locust: ~3 s without a heartbeat) before it is lost

_RECORDS_MSG, _PLAN_MSG, _STOP_MSG = "brownout_records", "brownout_plan", "brownout_stop"
log = logging.getLogger("brownout.loadgen")


def _on_signals(stop: Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, stop.set)


def _api_key(plan: LoadPlan) -> str | None:
    return os.environ.get(plan.api_key_env) if plan.api_key_env else None


def _state(plan: LoadPlan, now: float, stopping: bool) -> LoadState:
    if stopping or now >= plan.end_at:
        return "draining"
    return "waiting" if now < plan.start_at else "running"


def run_load(plan: LoadPlan, procs: list[subprocess.Popen] | None = None) -> int:
    """Drive the plan to its end (or to SIGTERM); 0 on a clean run. `procs`: the local workers already started.

    With `plan.clock_anchor` (start_load always runs this process on the caller's
    machine) its records share the caller's run-clock axis exactly. Worker
    processes keep their own anchor: a remote one has another monotonic clock.
    """
    clock = RunClock(plan.clock_anchor)
    stop = Event()
    _on_signals(stop)
    prompts = load_prompts(plan.load.dataset, plan.base_dir, plan.load.seed)
    tokenizer = load_tokenizer(plan.load.tokenizer, plan.base_dir)
    target_rate = nominal_rate(plan.load.arrival, mean_output_tokens(prompts))
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    status = plan.out_dir / STATUS_FILE
    workers = plan.load.workers + plan.load.expect_workers
    with RecordWriter(plan.out_dir / RECORDS_FILE) as writer:
        collector = Collector(writer, target_rate, workers, plan.start_at)
        write_progress(status, collector.snapshot(clock.now(), "starting"))
        if workers == 1:
            ctx = WorkerContext(clock, stop, _api_key(plan), plan, 0, 1, LocalSink(collector, "w0"), prompts, tokenizer)
            env = Environment(user_classes=[driver_user(ctx)], host=plan.base_url)
            runner: Any = env.create_local_runner()
            runner.start(1, spawn_rate=1)
            procs = []
            finished = ctx.done.is_set
            give_up = None  # one worker, in this process: nothing to call lost
        else:
            procs = list(procs or [])
            runner, done = _start_workers(plan, procs, collector, stop, clock, status)
            remote = plan.load.expect_workers
            missing: dict[str, float] = {}

            def finished() -> bool:
                _note_lost(runner, collector, done, missing, time.monotonic())
                return len(done) >= workers or (not remote and all(p.poll() is not None for p in procs))

            def give_up() -> None:  # type: ignore[misc]
                """Out of time: a worker that has not said it is done by now is lost (its records never come)."""
                for name in (f"w{index}" for index in range(workers)):
                    if name not in done:
                        collector.worker_lost(name)
        try:
            if not _supervise(plan, clock, stop, collector, status, runner, finished, distributed=bool(procs)) and give_up:
                give_up()
        finally:
            runner.quit()
            terminate([p.pid for p in procs], grace=3.0)
            for p in procs:
                p.wait()
            write_progress(status, collector.snapshot(clock.now(), "done"))
    return 0


def _note_lost(master: Any, collector: Collector, done: set[str], missing: dict[str, float], now: float) -> None:
    """Workers the master has not heard from for LOST_AFTER seconds: lost, so done, and said so in the status.

    Locust calls a worker missing after ~3 s without a heartbeat and takes it back when one comes: a worker
    whose loop a busy machine starved for a few seconds is missing for a while, not lost (CI once dropped
    a live worker's whole share that way). Its unsent arrivals and in-flight requests leave no record:
    nothing of a lost worker is scored, least of all as the target's errors; the runner reports the loss as
    a harness event. `missing`: when each worker was first seen missing, kept between calls."""
    now_missing = {f"w{master.get_worker_index(client.id)}" for client in master.clients.missing}
    for name in list(missing):
        if name not in now_missing:
            del missing[name]
    for name in now_missing - done:
        if now - missing.setdefault(name, now) >= LOST_AFTER:
            done.add(name)
            collector.worker_lost(name)


def _supervise(plan, clock, stop, collector, status, runner, finished, distributed) -> bool:
    """Rewrite the status file until every worker is done or stopped (True), or out of time (False)."""
    deadline = plan.end_at + plan.load.drain + END_SLACK
    stop_deadline = None
    while not finished():
        now = clock.now()
        if stop.is_set() and stop_deadline is None:
            stop_deadline = now + STOP_SLACK
            if distributed:
                runner.send_message(_STOP_MSG, {})
        if now > deadline or (stop_deadline is not None and now > stop_deadline):
            log.warning("workers did not finish in time; quitting")
            return False
        write_progress(status, collector.snapshot(now, _state(plan, now, stop.is_set())))
        gevent.sleep(STATUS_EVERY if stop_deadline is None else 0.05)
    return True


def _start_workers(plan: LoadPlan, procs: list[subprocess.Popen], collector: Collector, stop: Event, clock: RunClock,
                   status: Path):
    """A MasterRunner on `master_bind` (its port chosen already); waits for the local `procs` and the remote
    workers; sends the plan."""
    load = plan.load
    host, port, _ = master_address(load.master_bind)
    total = load.workers + load.expect_workers
    env = Environment(user_classes=[driver_user(None)], host=plan.base_url)
    master = env.create_master_runner(host, port)
    collector.master = f"{host}:{port}"
    done: set[str] = set()

    def on_records(environment: Any, msg: Any) -> None:
        data = msg.data
        for record in data["records"]:
            collector.add(record)
        collector.worker_stats(data["worker"], data["sent"], data["in_flight"])
        if data.get("ready_at") is not None:
            collector.worker_ready(data["worker"], data["ready_at"])
        if data.get("health"):
            collector.worker_health(data["worker"], LoopHealth(**data["health"]))
        if data["done"]:
            done.add(data["worker"])

    master.register_message(_RECORDS_MSG, on_records)
    give_up = time.monotonic() + load.worker_timeout
    while len(master.clients.ready) < total:
        collector.connected = len(master.clients.ready)
        write_progress(status, collector.snapshot(clock.now(), "starting"))
        if time.monotonic() > give_up or stop.is_set() or any(p.poll() is not None for p in procs):
            connected = len(master.clients.ready)
            master.quit()
            terminate([p.pid for p in procs], grace=3.0)
            hint = (f"; start the {load.expect_workers} remote one(s) with `brownout worker --master HOST:{port}` "
                    "(HOST: an address of this machine they can reach)") if load.expect_workers else ""
            raise LoadError(
                f"only {connected} of {total} load workers connected to the master at {host}:{port} "
                f"within {load.worker_timeout:g}s{hint}"
            )
        gevent.sleep(0.05)
    collector.connected = total
    text = plan.to_json()
    for client in list(master.clients.ready):
        index = master.get_worker_index(client.id)
        master.send_message(_PLAN_MSG, {"plan": text, "index": index, "workers": total}, client_id=client.id)
    master.start(total, spawn_rate=total)
    return master, done


class RemoteSink:
    """Batches a worker's records and counters to the master every STATUS_EVERY seconds."""

    def __init__(self, runner: Any, worker: str) -> None:
        self.runner = runner
        self.worker = worker
        self.buffer: list[dict[str, Any]] = []
        self.sent = 0
        self.in_flight = 0
        self.latest: LoopHealth | None = None
        self.ready_at: float | None = None

    def add(self, record: RequestRecord) -> None:
        self.buffer.append(record.to_dict())

    def stats(self, sent: int, in_flight: int) -> None:
        self.sent, self.in_flight = sent, in_flight

    def health(self, health: LoopHealth) -> None:
        self.latest = health

    def ready(self, t: float) -> None:
        self.ready_at = t

    def flush(self, done: bool = False) -> None:
        batch, self.buffer = self.buffer, []
        data = {"worker": self.worker, "records": batch, "sent": self.sent, "in_flight": self.in_flight, "done": done,
                "health": asdict(self.latest) if self.latest else None, "ready_at": self.ready_at}
        self.runner.send_message(_RECORDS_MSG, data)

    def pump(self, finished: Event) -> None:
        while not finished.wait(STATUS_EVERY):
            self.flush()
        self.flush(done=True)


def worker_main(master_host: str, master_port: int, local: bool = False) -> int:
    """A worker: connect, receive the plan, drive its share, ship records, quit when told.

    `local`: on the master's machine, so the plan's clock anchor holds here too (CLOCK_MONOTONIC is
    system-wide); a remote worker keeps its own anchor and relies on a synchronized wall clock.
    """
    clock = RunClock()
    stop = Event()
    _on_signals(stop)
    ctx = WorkerContext(clock, stop)
    env = Environment(user_classes=[driver_user(ctx)])
    # A worker that says hello before the master listens waits Locust's 5 s connect timeout for its retry:
    # the local ones start with the master, so wait for its port first (Locust still retries after this).
    wait_port(master_host, master_port, MASTER_WAIT)
    runner = env.create_worker_runner(master_host, master_port)

    def on_plan(environment: Any, msg: Any) -> None:
        plan = LoadPlan.from_json(msg.data["plan"])
        ctx.plan, ctx.index, ctx.workers = plan, msg.data["index"], msg.data["workers"]
        if local and plan.clock_anchor is not None:
            ctx.clock = RunClock(plan.clock_anchor)
        ctx.api_key = _api_key(plan)
        ctx.prompts = load_prompts(plan.load.dataset, plan.base_dir, plan.load.seed)
        ctx.tokenizer = load_tokenizer(plan.load.tokenizer, plan.base_dir)
        sink = RemoteSink(runner, f"w{ctx.index}")
        ctx.sink = sink
        gevent.spawn(sink.pump, ctx.done)

    def on_stop(environment: Any, msg: Any) -> None:
        stop.set()

    runner.register_message(_PLAN_MSG, on_plan)
    runner.register_message(_STOP_MSG, on_stop)

    def quit_after_stop() -> None:
        stop.wait()
        ctx.done.wait(STOP_SLACK)
        gevent.sleep(0.1)  # let the final batch go out
        runner.quit()

    gevent.spawn(quit_after_stop)
    runner.greenlet.join()
    return 0
