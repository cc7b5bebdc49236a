"""Dispatch inside the gevent load process: arrivals in, requests out, records to a sink.

One Locust user per worker process drives that worker's whole share of the
load: open loop spawns one greenlet per scheduled arrival, closed loop keeps the profile's number of greenlets
(re-read every CLOSED_LOOP_TICK) each sending back to back. Timers
(brownout.loadgen.schedule) only say when. A multi-turn session (sessions.py)
or a tool-calling workflow (workflow.py) is one arrival whose requests follow
one another.

An open-loop arrival brownout cannot send on time because of its own limits is
`dropped`, never sent late: `in_flight_cap` when `max_in_flight` sent requests
fill the pool, `load_backlog` when this process fell more than BACKLOG_LIMIT
behind its schedule (counted from when it was ready: a slow start is not a backlog) or its own unsent arrivals (older than UNSENT_GRACE) hold
the slots. Either way it is
the harness's, not the target's (scoring leaves dropped arrivals out).
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

import gevent
from gevent.event import Event
from gevent.pool import Pool
from locust import FastHttpUser, constant, task
from locust.exception import StopUser

from brownout.errors import LoadError
from brownout.spec.interpolation import interpolate
from brownout.spec.load import ConcurrencyArrival, JsonlDataset
from brownout.loadgen.datasets import Prompt, mean_output_tokens
from brownout.loadgen.health import LoopHealth, LoopMonitor
from brownout.loadgen.exchange import ExchangeSettings, abandon, exchange, fail
from brownout.loadgen.payloads import RequestSpec, build_request
from brownout.loadgen.sessions import Chain, run_session
from brownout.loadgen.toolcalls import tool_definitions
from brownout.loadgen.workflow import run_workflow
from brownout.loadgen.plan import LoadPlan
from brownout.loadgen.progress import Collector
from brownout.rundata.records import DropReason, RequestRecord
from brownout.rundata.clock import RunClock
from brownout.loadgen.responses import Reply
from brownout.loadgen.schedule import share, split_count, timer_for, users_profile
from brownout.loadgen.sendmark import SendMarks
from brownout.loadgen.tokenizer import TokenCounter

__all__ = [
    "BACKLOG_LIMIT",
    "CLOSED_LOOP_TICK",
    "CONNECT_TIMEOUT",
    "STOP_DRAIN",
    "Dispatcher",
    "LocalSink",
    "RecordSink",
    "WorkerContext",
    "driver_user",
    "request_headers",
]

CONNECT_TIMEOUT = 10.0   # seconds; the request timeout still bounds the whole request
STOP_DRAIN = 1.0         # seconds in-flight requests get after a stop request (SIGTERM)
CLOSED_LOOP_TICK = 0.1   # seconds between re-reads of a closed-loop user profile
BACKLOG_LIMIT = 1.0      # seconds behind its schedule past which an open-loop arrival is dropped as load_backlog
CATCH_UP_YIELD = 32      # arrivals spawned back to back while behind schedule before the loop yields
UNSENT_GRACE = 0.1       # seconds an arrival may hold an in-flight slot unsent before a full pool is our backlog
log = logging.getLogger("brownout.loadgen")


class RecordSink(Protocol):
    def add(self, record: RequestRecord) -> None: ...
    def stats(self, sent: int, in_flight: int) -> None: ...
    def health(self, health: LoopHealth) -> None: ...
    def ready(self, t: float) -> None: ...


@dataclass
class LocalSink:
    """Hands records straight to the collector (single-process runs)."""

    collector: Collector
    worker: str

    def add(self, record: RequestRecord) -> None:
        self.collector.add(record)

    def stats(self, sent: int, in_flight: int) -> None:
        self.collector.worker_stats(self.worker, sent, in_flight)

    def health(self, health: LoopHealth) -> None:
        self.collector.worker_health(self.worker, health)

    def ready(self, t: float) -> None:
        self.collector.worker_ready(self.worker, t)


def request_headers(plan: LoadPlan, api_key: str | None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers of every request. `identity` encoding: compression would only cost the load CPU (a server that
    compresses anyway is decoded as the bytes arrive, body.py).

    Plan headers are templates: `${VAR}` is resolved here from the load process's own
    environment, so a secret header never lands in plan.json.
    """
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Accept-Encoding": "identity"}
    environment = os.environ if env is None else env
    for name, template in plan.headers.items():
        value, problems = interpolate(template, environment)
        if problems:
            raise LoadError(f"header {name}: {problems[0][0]}")
        headers[name] = value
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


@dataclass
class WorkerContext:
    """What one worker process drives; `plan` may arrive after construction (from the master)."""

    clock: RunClock
    stop: Event
    api_key: str | None = None
    plan: LoadPlan | None = None
    index: int = 0
    workers: int = 1
    sink: Any = None
    prompts: list[Prompt] = field(default_factory=list)
    tokenizer: TokenCounter | None = None
    done: Event = field(default_factory=Event)
    failed: bool = False

    @property
    def cap(self) -> int:
        assert self.plan is not None
        return max(1, split_count(self.plan.load.max_in_flight, self.index, self.workers))


class Dispatcher:
    """Runs one worker's share of the plan from start_at to end_at, then drains."""

    def __init__(self, client: Any, ctx: WorkerContext) -> None:
        assert ctx.plan is not None
        self.plan = plan = ctx.plan
        self.ctx = ctx
        self.client = client
        self.clock = ctx.clock
        self.worker = f"w{ctx.index}"
        self.prompts = ctx.prompts
        self.pool = Pool(ctx.cap)
        self.sent = 0
        self.ready_at = ctx.clock.now()
        self.waiting: dict[int, float] = {}              # arrivals spawned whose greenlet has not started: k -> t_sched
        self.in_flight: dict[str, RequestRecord] = {}   # records sent and not yet handed to the sink
        dataset = plan.load.dataset
        self.sessions = getattr(dataset, "sessions", None)  # synthetic sessions or a ShareGPT replay
        self.settings = ExchangeSettings(
            clock=ctx.clock,
            timeout=plan.load.timeout,
            rules=plan.outcome,
            primary_model=plan.primary_model,
            headers=request_headers(plan, ctx.api_key),
            keep_text=self.sessions is not None or plan.load.workflow is not None,
            tokenizer=ctx.tokenizer,
            send_marks=SendMarks(client, plan.base_url),
            max_event_size=plan.load.max_event_size,
            usage_tolerance=plan.load.usage_tolerance,
            follow_redirects=plan.http.follow_redirects,
            answer=plan.load.http.answer if plan.load.http is not None else None,
            check_share=dataset.check_share if isinstance(dataset, JsonlDataset) else 0.0,
        )

    def run(self) -> None:
        stop = self.ctx.stop
        # Locust, pydantic and the plan are a heap of long-lived objects: frozen, a full collection during the
        # load walks only what the run made (one unfrozen walk stalled a 200-stream run for 40 ms)
        gc.collect()
        gc.freeze()
        self.ready_at = self.clock.now()
        self.ctx.sink.ready(self.ready_at)
        if not stop.wait(max(0.0, self.plan.start_at - self.clock.now())):
            finished = Event()
            monitor = gevent.spawn(LoopMonitor(self.ctx.sink.health).run, finished.is_set)
            try:
                if isinstance(self.plan.load.arrival, ConcurrencyArrival):
                    self._closed_loop(self.plan.load.arrival)
                else:
                    self._open_loop()
            finally:
                finished.set()
                monitor.join(timeout=1.0)
        self._drain()

    def _open_loop(self) -> None:
        load, clock, stop = self.plan.load, self.clock, self.ctx.stop
        timer = timer_for(load.arrival, load.seed, mean_output_tokens(self.prompts))
        assert timer is not None
        late = 0
        for k, t in share(timer.times(self.plan.start_at), self.ctx.index, self.ctx.workers):
            if t >= self.plan.end_at:
                return
            delay = t - clock.now()
            if delay > 0:
                if stop.wait(delay):
                    return
            elif stop.is_set():
                return
            else:
                late += 1
                if late % CATCH_UP_YIELD == 0:
                    gevent.sleep(0)  # behind schedule: let the arrivals already spawned send
            behind = self._behind(t)
            if behind > BACKLOG_LIMIT:
                self._drop(k, t, "load_backlog", f"the load generator was {behind:.2f}s behind its schedule")
                continue
            if self.pool.full():
                gevent.sleep(0)  # arrivals spawned but not started yet send now, or show they cannot
            if self.pool.full():
                oldest = next(iter(self.waiting.values()), None)  # insertion order is schedule order
                if oldest is not None and clock.now() - oldest > UNSENT_GRACE:
                    self._drop(k, t, "load_backlog", f"{len(self.waiting)} of the {self.ctx.cap} in-flight slots held "
                               "by arrivals the load generator had not sent yet")
                else:
                    self._drop(k, t, "in_flight_cap", f"in-flight cap {self.ctx.cap} full")
                continue
            self.waiting[k] = t
            self.pool.spawn(self._one, k, t)

    def _behind(self, t_sched: float) -> float:
        """How late an arrival is for what this process did since it was ready: a slow start is not a backlog
        (those arrivals go out late, and the run warns of the late start)."""
        return self.clock.now() - max(t_sched, self.ready_at)

    def _drop(self, k: int, t_sched: float, reason: DropReason, text: str) -> None:
        rec = RequestRecord(f"{self.worker}-{k}", self.plan.load.request, self.worker, t_sched=t_sched, t_send=None,
                            drop_reason=reason)
        fail(rec, "dropped", text, self.clock.now())
        self.ctx.sink.add(rec)

    def _closed_loop(self, arrival: ConcurrencyArrival) -> None:
        """Keep this worker's share of the profile's users running; retired users finish their request first."""
        ctx, plan = self.ctx, self.plan
        numbers = itertools.count(ctx.index, ctx.workers)
        profile = users_profile(arrival)
        users: list[tuple[gevent.Greenlet, Event]] = []
        while not ctx.stop.is_set():
            now = self.clock.now()
            if now >= plan.end_at:
                return
            want = min(split_count(max(0, round(profile.level(now - plan.start_at))), ctx.index, ctx.workers), ctx.cap)
            users = [u for u in users if not u[0].dead]
            while len(users) < want and not self.pool.full():
                retire = Event()
                users.append((self.pool.spawn(self._user, numbers, retire), retire))
            while len(users) > want:
                users.pop()[1].set()
            ctx.stop.wait(min(CLOSED_LOOP_TICK, plan.end_at - now))

    def _user(self, numbers: itertools.count, retire: Event) -> None:
        while not self.ctx.stop.is_set() and not retire.is_set() and self.clock.now() < self.plan.end_at:
            self._one(next(numbers), None)

    def _one(self, k: int, t_sched: float | None) -> None:
        """Arrival k: one request, a whole session (sessions.py) or a whole workflow (workflow.py)."""
        self.waiting.pop(k, None)
        if t_sched is not None and (behind := self._behind(t_sched)) > BACKLOG_LIMIT:
            self._drop(k, t_sched, "load_backlog", f"the load generator started it {behind:.2f}s behind its schedule")
            return
        prompt = self.prompts[k % len(self.prompts)]
        chain = Chain(self._build, self._send, self._pause, self.clock.now)
        if self.plan.load.workflow is not None:
            run_workflow(chain, f"{self.worker}-{k}", prompt, t_sched, self.plan.load.workflow)
        else:
            run_session(chain, f"{self.worker}-{k}", prompt, t_sched, self.sessions)

    def _build(self, prompt: Prompt) -> RequestSpec:
        load = self.plan.load
        if load.workflow is not None:
            return build_request("chat", prompt, self.plan.model, load.stream, load.temperature, load.http,
                                 tool_definitions(load.workflow.tools))
        return build_request(load.request, prompt, self.plan.model, load.stream, load.temperature, load.http)

    def _pause(self, seconds: float) -> bool:
        """Wait before a session's next turn; False when the run ends (or stops) first."""
        return not (self.clock.now() + seconds >= self.plan.end_at or self.ctx.stop.wait(seconds) or self.ctx.stop.is_set())

    def _send(self, request_id: str, spec: RequestSpec, t_sched: float | None,
              tags: dict[str, Any]) -> tuple[RequestRecord, Reply | None]:
        rec = RequestRecord(request_id, spec.kind, self.worker, t_sched=t_sched, t_send=None, **tags)
        self.sent += 1
        self.in_flight[request_id] = rec
        self.ctx.sink.stats(self.sent, len(self.pool))
        try:
            reply = exchange(self.client, spec, rec, self.settings)
        except gevent.GreenletExit:
            self._abandon(rec)
            raise
        if self.in_flight.pop(request_id, None) is not None:
            self.ctx.sink.add(rec)
        self.ctx.sink.stats(self.sent, len(self.pool) - 1)
        return rec, reply

    def _abandon(self, rec: RequestRecord) -> None:
        """Record `rec` as abandoned unless it already went to the sink: every arrival ends as exactly one record."""
        if self.in_flight.pop(rec.request_id, None) is None:
            return
        drain = f"the {self.plan.load.drain:g}s drain ended"
        if rec.t_send is None:
            why = "stopped before it was sent" if self.ctx.stop.is_set() else f"not yet sent when {drain}"
        else:
            why = "stopped while in flight" if self.ctx.stop.is_set() else f"still in flight when {drain}"
        abandon(rec, why, self.clock.now())
        self.ctx.sink.add(rec)

    def _drain(self) -> None:
        """Let in-flight requests finish for `drain` (STOP_DRAIN after a stop), then abandon them."""
        stop, clock = self.ctx.stop, self.clock
        end = clock.now() + (STOP_DRAIN if stop.is_set() else self.plan.load.drain)
        while len(self.pool) and clock.now() < end:
            self.pool.join(timeout=min(0.1, end - clock.now()))
            if stop.is_set():
                end = min(end, clock.now() + STOP_DRAIN)
        self.pool.kill(block=True, timeout=2.0)
        # Greenlets killed before they ran, or that did not die in time, left no record: write it now.
        for k, t in sorted(self.waiting.items()):
            rec = RequestRecord(f"{self.worker}-{k}", self.plan.load.request, self.worker, t_sched=t, t_send=None)
            self.in_flight[rec.request_id] = rec
        self.waiting.clear()
        for rec in list(self.in_flight.values()):
            self._abandon(rec)
        self.ctx.sink.stats(self.sent, 0)


def driver_user(ctx: WorkerContext | None) -> type[FastHttpUser]:
    """The Locust user class of one worker; the master only needs its name."""

    class LoadDriver(FastHttpUser):
        wait_time = constant(0)
        max_redirects = 0  # exchange.py follows them itself, when the target allows it

        def __init__(self, environment: Any) -> None:
            assert ctx is not None and ctx.plan is not None
            # FastHttpUser does not verify certificates unless told: follow target.endpoint.verify_tls / ca_bundle
            self.insecure = not ctx.plan.http.verify_tls
            self.ssl_context_factory = ctx.plan.http.ssl_context
            self.host = ctx.plan.base_url.rstrip("/")
            self.network_timeout = ctx.plan.load.timeout
            self.connection_timeout = min(ctx.plan.load.timeout, CONNECT_TIMEOUT)
            self.concurrency = ctx.cap
            super().__init__(environment)

        @task
        def drive(self) -> None:
            assert ctx is not None
            try:
                Dispatcher(self.client, ctx).run()
            except Exception:  # Locust would rerun a failing task: report once and stop instead
                log.exception("load dispatcher failed")
                ctx.failed = True
            finally:
                ctx.done.set()
            raise StopUser()

    return LoadDriver

