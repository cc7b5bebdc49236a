"""The run lifecycle: fixed phases, a journal entry before each step, rollback in `finally`.

    validate -> recover stale journals -> resolve target (start sandbox) -> health check
    -> resolve faults (dry run stops here) -> start probes and load
    -> warmup -> baseline -> steady-state hypothesis (abort: NOT_STEADY, nothing injected)
    -> fault phase (inject/rollback on schedule, guards every tick)
    -> rollback whatever is left (reverse order) -> recovery (ready events)
    -> the load drains (in-flight requests get `load.drain`) -> steady state again, on complete data
    -> stop probes/sandbox -> harness self-check -> score -> write results and reports

Rollback runs on normal end, on a stop condition, on any exception and on
SIGINT/SIGTERM. After SIGKILL the journal lets `brownout recover` finish the job.
"""

from __future__ import annotations

import dataclasses
import enum
import signal
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


from brownout.errors import AbortedError, BrownoutError, InjectError, NotSteadyError
from brownout.exit_codes import interrupted_exit_code
from brownout.experiments.console import Console
from brownout.experiments.fault_plan import PlannedWindow, plan_fault_windows
from brownout.experiments.journal import Journal, OpenFault, brownout_home
from brownout.experiments.rollback import UndoResult, recover_stale, undo_or_close
from brownout.experiments.selfcheck import MachineReading, observations, read_machine
from brownout.experiments.signals import HANDLED_SIGNALS, RunInterrupted, SignalGate
from brownout.experiments.target import TargetSession
from brownout.rundata.timeline import FAULT_DRIFT_WARNING, FaultWindow, PhaseWindow, Timeline, TimelineEvent
from brownout.faults.base import FaultContext, FaultDriver, FaultHandle, Resolution
from brownout.faults.registry import DRIVERS
from brownout.rundata.clock import RunClock
from brownout.processes import test_hold
from brownout.redact import redact_url
from brownout.reports.models import HarnessObservations

__all__ = ["RunInterrupted", "RunOptions", "RunOutcome", "RunStatus", "run_experiment"]

Log = Callable[..., None]  # log(message, **structured_fields), e.g. brownout.experiments.console.Console


class RunStatus(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"            # SLOs failed
    INCONCLUSIVE = "inconclusive"  # only latency objectives unmet, and the harness was saturated
    ABORTED = "aborted"          # a stop condition fired
    NOT_STEADY = "not_steady"    # steady-state hypothesis did not hold; nothing injected
    ERROR = "error"              # harness or environment error
    INTERRUPTED = "interrupted"  # SIGINT / SIGTERM
    DRY_RUN = "dry_run"


@dataclass
class RunOptions:
    out_dir: Path | None = None
    dry_run: bool = False
    quiet: bool = False
    workers: int | None = None        # overrides load.workers
    home: Path | None = None          # journal home (BROWNOUT_HOME)
    progress_every: float = 5.0


@dataclass
class RunOutcome:
    status: RunStatus
    run_id: str | None
    out_dir: Path | None
    outputs: dict[str, Path] = field(default_factory=dict)
    resolutions: list[Resolution] = field(default_factory=list)
    message: str = ""
    signum: int | None = None
    score: float | None = None
    findings: list[str] = field(default_factory=list)   # one line per SLO / steady-state check that did not pass
    harness: list[str] = field(default_factory=list)    # why the harness self-check found itself saturated


@dataclass
class _Applied:
    window: PlannedWindow
    handle: FaultHandle
    record: FaultWindow
    driver: type[FaultDriver]
    entry: OpenFault   # as journaled: which of the run's own helpers it acts on


class _Run:
    """State of one run. Side effects live here; decisions are in the small pure modules it calls."""

    def __init__(self, loaded: Any, options: RunOptions, log: Log) -> None:
        self.loaded = loaded
        self.spec = loaded.spec
        self.options = options
        self.log = log
        self.signals = SignalGate(log)
        self.clock = RunClock()
        self.home = options.home or brownout_home()
        self.journal: Journal | None = None
        self.out_dir: Path | None = None
        self.target: TargetSession | None = None
        self.load_run = None
        self.probe_runner = None
        self.sampler = None
        self.timeline = Timeline(run_start=self.clock.now())
        self.applied: list[_Applied] = []
        self.undo_results: list[UndoResult] = []
        self.triggers: list[Any] = []
        self.steady_results: list[Any] = []
        self._guard_cursor = 0.0
        self._guard_seen: set[str] = set()
        self._probe_cursor = 0
        self._recovery_pool: ThreadPoolExecutor | None = None
        self._timeline_lock = threading.Lock()
        self._timeline_closed = False
        self._last_progress = 0.0
        self.machine_start: MachineReading | None = None
        self.machine_end: MachineReading | None = None
        self._load_end = 0.0

    # ----- set-up -------------------------------------------------------------------------
    def event(self, kind: str, name: str, **detail: Any) -> None:
        self.timeline.events.append(TimelineEvent(self.clock.now(), kind, name, detail))  # type: ignore[arg-type]

    def open_journal(self) -> None:
        document = self.loaded.document_for_results()
        self.journal = Journal.create(self.spec.metadata.name, document, self.home)
        base = self.options.out_dir or Path("results") / self.journal.run_id
        self.out_dir = base
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.journal.append("out_dir", path=str(self.out_dir.resolve()))

    def resolve_target(self) -> None:
        self.target = TargetSession(self.loaded, self.out_dir, self.journal, self.signals, self.log,
                                    dry_run=self.options.dry_run)
        self.target.open()

    @property
    def context(self) -> FaultContext:
        return self.target.context if self.target is not None else FaultContext(seed=self.spec.load.seed)

    def drivers(self) -> list[FaultDriver]:
        missing = sorted({f.kind for f in self.spec.faults if f.kind not in DRIVERS})
        if missing:
            raise InjectError(f"no driver for fault kind(s): {', '.join(missing)}")
        return [DRIVERS[f.kind](f, self.context) for f in self.spec.faults]

    def check_load_inputs(self) -> None:
        """Files the load needs (the tokenizer's ranks file) are checked now, as located spec errors,
        rather than when the load process fails to start mid-run."""
        from brownout.errors import LoadError
        from brownout.loadgen.tokenizer import load_tokenizer

        try:
            load_tokenizer(self.spec.load.tokenizer, self.loaded.path.parent)
        except LoadError as exc:
            raise self.loaded.error_at("load.tokenizer.encoding_file", str(exc)) from exc

    def resolve_faults(self) -> list[Resolution]:
        resolutions = [driver.resolve() for driver in self.drivers()]
        if not self.options.dry_run:
            for res in resolutions:
                self.log(f"fault '{res.fault}' ({res.kind}) will: {res.action}")
        return resolutions

    # ----- load, probes, guards -------------------------------------------------------------
    def start_probes(self) -> None:
        if not self.spec.probes:
            return
        from brownout.probes import ProbeRunner, ProbeTarget

        target = ProbeTarget(base_url=self.target.base_url, clock=self.clock, headers=self.target.auth_headers(),
                             model=self.spec.target.model, http=self.target.http_options())
        self.probe_runner = ProbeRunner(list(self.spec.probes), target, self.out_dir / "probes.jsonl")
        self.probe_runner.start()
        self.journal.append("probes_started", count=len(self.spec.probes))

    def start_metrics(self) -> None:
        """Record GPU memory, KV-cache and queue gauges for the whole run (the sandbox's replicas by default)."""
        from brownout.spec.metrics import MetricsEndpoint, MetricsSampling
        from brownout.probes.metrics_sampler import MetricSampler

        sampling = self.spec.metrics
        if sampling is None and self.target.sandbox is not None:
            replicas = [c for c in self.target.sandbox.state().get("components", []) if c.get("role") == "replica"]
            endpoints = [MetricsEndpoint(name=c["name"], url=f"{c['url']}/metrics") for c in replicas]
            sampling = MetricsSampling(endpoints=endpoints) if endpoints else None
        if sampling is None:
            return
        self.sampler = MetricSampler(sampling, self.clock, self.out_dir / "metrics.jsonl")
        self.sampler.start()

    def start_load(self, start_at: float, end_at: float) -> None:
        from brownout.loadgen import LoadPlan, start_load

        load = self.spec.load
        self._load_end = end_at
        if self.options.workers:
            load = load.model_copy(update={"workers": self.options.workers})
        endpoint = self.spec.target.endpoint
        plan = LoadPlan(
            base_url=self.target.base_url,
            load=load,
            model=self.spec.target.model,
            outcome=self.target.outcome_rules(),
            start_at=start_at,
            end_at=end_at,
            out_dir=self.out_dir / "load",
            base_dir=self.loaded.path.parent,
            headers=self.target.header_templates(),
            clock_anchor=self.clock.anchor,  # load records and the fault timeline on exactly one time axis
            api_key_env=endpoint.api_key_env if endpoint else None,
            http=self.target.http_options(),
        )
        with self.signals.deferred():
            self.load_run = start_load(plan, run_id=self.journal.run_id, on_spawn=self.journal.on_spawn())

    def build_guards(self) -> None:
        if self.spec.stop_conditions:
            from brownout.experiments.guards import build_triggers

            self.triggers = build_triggers(self.spec.stop_conditions)

    def check_guards(self) -> None:
        if not self.triggers:
            return
        now = self.clock.now()
        # Re-read a lagging window (workers ship records late and out of order) and feed each record once.
        window = self.load_run.records_since(self._guard_cursor - _GUARD_LAG) if self.load_run else []
        records = [r for r in window if r["request_id"] not in self._guard_seen]
        self._guard_cursor = max([self._guard_cursor] + [r.get("t_end") or 0.0 for r in window])
        self._guard_seen = {r["request_id"] for r in window if (r.get("t_end") or 0.0) >= self._guard_cursor - _GUARD_LAG}
        probes = self.probe_runner.results()[self._probe_cursor:] if self.probe_runner else []
        self._probe_cursor += len(probes)
        for trigger in self.triggers:
            trigger.update(now, records, probes)
            firing = trigger.fired
            if firing is not None:
                self.event("guard_fired", firing.name, reason=firing.reason)
                self.log(f"stop condition '{firing.name}' fired: {firing.reason}", event="guard_fired",
                         guard=firing.name, reason=firing.reason)
                self.journal.append("guard_fired", name=firing.name, reason=firing.reason)
                raise AbortedError(firing.name, firing.reason)

    def check_harness(self, phase: str) -> None:
        from brownout.experiments.harness import check_harness, helpers_of
        from brownout.loadgen.plan import STATUS_FILE

        status = self.out_dir / "load" / STATUS_FILE if self.load_run is not None else None
        helpers = helpers_of(self.load_run, status, self._load_end, self.target)
        probes = self.probe_runner.running if self.probe_runner is not None else None
        check_harness(helpers, probes, self.clock.now(), phase)
        for worker in self.load_run.newly_lost_workers() if self.load_run is not None else []:
            self.event("load_worker_lost", worker)
            self.log(f"WARNING: load worker {worker} was lost (the master stopped hearing from it): its share of the "
                     "load is not sent and nothing of it is scored", event="load_worker_lost", level="warning", worker=worker)

    def progress(self, phase: str, phase_end: float) -> None:
        now = time.monotonic()
        if self.options.quiet or now - self._last_progress < self.options.progress_every or self.load_run is None:
            return
        self._last_progress = now
        snapshot = self.load_run.progress()
        if snapshot is None:
            return
        remaining = max(0.0, phase_end - self.clock.now())
        self.log(f"[{phase:>8}] {remaining:4.0f}s left | {snapshot.line()}", event="progress", phase=phase,
                 remaining=round(remaining, 1), **dataclasses.asdict(snapshot))

    # ----- phases -------------------------------------------------------------------------
    def phase(self, name: str, start: float, end: float) -> PhaseWindow:
        """Open a phase whose window was fixed when the load was scheduled: set-up work
        (steady-state checks, rollbacks) eats into a phase instead of shifting the rest."""
        window = PhaseWindow(name, start, end)  # type: ignore[arg-type]
        self.timeline.phases.append(window)
        self.event("phase_started", name)
        self.journal.append("phase_started", phase=name, start=start, end=end)
        return window

    def cut_phases(self, at: float) -> None:
        """An aborted run ends its phases when it stopped, so rates are not diluted by time that never ran."""
        for window in self.timeline.phases:
            window.end = min(window.end, max(window.start, at))

    def hold(self, phase: str, until: float, windows: list[PlannedWindow] | None = None) -> None:
        """Wait until `until`, injecting and rolling back on schedule and checking guards each tick."""
        pending = list(windows or [])
        while True:
            now = self.clock.now()
            for w in [w for w in pending if w.inject_at <= now]:
                pending.remove(w)
                self.inject(w)
            for applied in [a for a in self.applied if a.record.rolled_back_at is None and a.window.rollback_at <= now]:
                self.rollback(applied)
            self.check_harness(phase)
            self.check_guards()
            self.progress(phase, until)
            if now >= until:
                return
            due = [w.inject_at for w in pending] + [a.window.rollback_at for a in self.applied if a.record.rolled_back_at is None]
            wake = min([until, now + _TICK, *due])
            time.sleep(max(0.0, wake - self.clock.now()))

    def inject(self, window: PlannedWindow) -> None:
        driver_cls = DRIVERS[window.fault.kind]
        driver = driver_cls(window.fault, self.context)
        # Only a region outage makes a failover: a replica kill scoped to a region does not.
        region = window.fault.region_outage or (window.fault.region if window.fault.kind == "sandbox.region-down" else None)
        record = FaultWindow(window.fault.name, window.fault.kind, injected_at=None, region=region,
                             planned_inject_at=window.inject_at, planned_rollback_at=window.rollback_at)
        self.timeline.faults.append(record)
        try:
            handle = driver.prepare()
        except BrownoutError as exc:
            record.error = str(exc)
            self.event("fault_inject_failed", window.fault.name, error=str(exc))
            raise
        owned = self.target.owned_urls() if self.target is not None else {}
        entry = self.journal.fault_intent(window.entry_id, handle.to_dict(), owned)
        applied = _Applied(window, handle, record, driver_cls, entry)
        self.applied.append(applied)
        try:
            detail = driver.inject(handle)
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.event("fault_inject_failed", window.fault.name, error=record.error)
            raise InjectError(f"fault '{window.fault.name}' failed to inject: {exc}") from exc
        record.injected_at = self.clock.now()
        record.detail = detail
        record.targets = [str(t) for t in handle.data.get("replicas", handle.data.get("targets", []))]
        self.journal.fault_applied(window.entry_id, detail, handle.to_dict())
        self.event("fault_injected", window.fault.name, **detail)
        if record.region:
            self.event("region_down", record.region)
        self.log(f"injected '{window.fault.name}': {driver.describe()} {detail}", event="fault_injected",
                 fault=window.fault.name, kind=window.fault.kind, detail=detail)
        self.warn_if_late(window.fault.name, "injected", record.injected_at, window.inject_at)

    def rollback(self, applied: _Applied) -> None:
        if applied.record.rolled_back_at is not None:
            return
        test_hold("rollback")
        policy = self.spec.rollback
        dead = self.target.dead_helpers() if self.target is not None else set()
        result = undo_or_close(applied.entry, applied.handle, self.journal, dead, "during the run",
                               retries=policy.retries, backoff=policy.backoff, log=self.log)
        self.undo_results.append(result)
        applied.record.rolled_back_at = self.clock.now()
        self.warn_if_late(applied.window.fault.name, "rolled back", applied.record.rolled_back_at, applied.window.rollback_at)
        if result.ok:
            self.event("fault_rolled_back", applied.window.fault.name, attempts=result.attempts)
            if applied.record.region:
                self.event("region_up", applied.record.region)
            self.log(f"rolled back '{applied.window.fault.name}'", event="fault_rolled_back", fault=applied.window.fault.name)
        else:
            applied.record.error = result.error
            self.event("fault_rollback_failed", applied.window.fault.name, error=result.error)
            self.log(f"ROLLBACK FAILED for '{applied.window.fault.name}': {result.error} (journal keeps it open; "
                     "run `brownout recover`)", event="fault_rollback_failed", fault=applied.window.fault.name, error=result.error)

    def warn_if_late(self, fault: str, action: str, actual: float, planned: float) -> None:
        """A fault off its schedule changes what the phases measured: say so, never silently."""
        drift = actual - planned
        if drift > FAULT_DRIFT_WARNING:
            self.event("fault_late", fault, action=action, drift=round(drift, 3))
            self.log(f"WARNING: '{fault}' {action} {drift:.2f}s after its planned time (more than "
                     f"{FAULT_DRIFT_WARNING:g}s: the fault window is shorter or later than planned)",
                     event="fault_late", level="warning", fault=fault, action=action, drift=round(drift, 3))

    def rollback_all(self) -> None:
        """Undo every applied fault, newest first, then the set-up links; one that raises never keeps the others."""
        self.rollback_faults()
        policy = self.spec.rollback
        while self.target is not None and self.target.links:
            entry, handle = self.target.links.pop()
            result = undo_or_close(entry, handle, self.journal, self.target.dead_helpers(), "during the run",
                                   retries=policy.retries, backoff=policy.backoff, log=self.log)
            self.undo_results.append(result)

    def rollback_faults(self) -> None:
        for applied in reversed(self.applied):
            try:
                self.rollback(applied)
            except Exception as exc:  # noqa: BLE001 - e.g. the journal's disk is full: log, keep undoing
                self.log(f"ROLLBACK FAILED for '{applied.window.fault.name}': {type(exc).__name__}: {exc} "
                         "(run `brownout recover`)")
                self.undo_results.append(UndoResult(applied.window.entry_id, applied.window.fault.name,
                                                    applied.window.fault.kind, False, 0, time.time(), error=str(exc)))

    def wait_recovered(self, timeout: float) -> None:
        """Record when each rolled-back fault's targets are ready again, in parallel, bounded by `timeout`."""
        if not self.spec.rollback.wait_ready:
            return
        todo = [a for a in self.applied if a.record.injected_at is not None]
        if not todo:
            return

        def wait(applied: _Applied) -> None:
            t = applied.driver.wait_ready(applied.handle, timeout)
            with self._timeline_lock:  # scoring may already be reading the timeline: then it is too late
                if t is not None and not self._timeline_closed:  # epoch seconds, the run clock's axis
                    applied.record.recovered_at = t
                    self.timeline.events.append(TimelineEvent(t, "fault_recovered", applied.window.fault.name))

        self._recovery_pool = ThreadPoolExecutor(max_workers=min(8, len(todo)), thread_name_prefix="ready")
        for applied in todo:
            self._recovery_pool.submit(wait, applied)

    # ----- steady state -------------------------------------------------------------------
    def steady_state(self, window: PhaseWindow, label: str) -> bool:
        """Judge the steady state over `window` on the requests complete so far.

        Before the faults this gates the fault phase and cannot wait for the baseline's
        in-flight requests without pushing the schedule, so its line says it is
        provisional and how many were still in flight; the final verdict re-judges the
        same window on every request. After recovery the load has drained: complete data.
        """
        from brownout.reports import evaluate_steady_state
        from brownout.reports.selfcheck import judge_harness, untrusted
        from brownout.reports.window import Window, in_window

        records = self.current_records()
        probes = self.probe_runner.results() if self.probe_runner else []
        results = evaluate_steady_state(self.spec, records, probes, window.start, window.end, label=label)
        # A saturated harness makes latency checks untrustworthy here as in the verdict: they never abort a run.
        harness = judge_harness(_harness(self), in_window(records, Window(label, window.start, window.end)),
                                self.spec.scoring.self_check)
        results = [untrusted(r, harness) for r in results]
        for reason in harness.reasons:
            self.log(f"  harness self-check: {reason}", event="harness_saturated", level="warning", reason=reason)
        self.steady_results.extend(results)
        ok = all(r.passed or r.inconclusive_reason == "harness" for r in results)
        progress = self.load_run.progress() if self.load_run is not None else None
        in_flight = progress.in_flight if progress is not None and progress.state != "done" else 0
        basis = (f"provisional, {in_flight} request(s) still in flight; the verdict re-judges on all of them"
                 if in_flight else "every request complete")
        self.event("steady_state", label, ok=ok, checks=[r.summary() for r in results], in_flight=in_flight)
        self.journal.append("steady_state", label=label, ok=ok, checks=[r.summary() for r in results], in_flight=in_flight)
        self.log(f"steady state {label} ({basis}): {'holds' if ok else 'DOES NOT HOLD'}", event="steady_state",
                 label=label, passed=ok, in_flight=in_flight)
        for r in results:
            self.log(f"  {r.name}: {r.message} -> {r.status}", event="steady_state_check", label=label,
                     check=r.name, passed=r.passed)
        return ok

    def warn_if_load_started_late(self, start: float) -> None:
        """A load process that was ready after its first planned arrival sent those arrivals late."""
        progress = self.load_run.progress() if self.load_run is not None else None
        late = progress.ready_at - start if progress is not None and progress.ready_at is not None else 0.0
        if late > FAULT_DRIFT_WARNING:
            self.log(f"WARNING: the load process was ready {late:.2f}s after its first planned arrival (a slow start on a "
                     "busy machine): the first arrivals went out late, as their schedule lag shows",
                     event="load_started_late", level="warning", late=round(late, 3))

    def finish_load(self) -> None:
        """Let the load end by itself: in-flight requests get `load.drain` and are recorded with what they
        measured (only the rest are `abandoned`). A load process that outstays its drain is stopped."""
        self.machine_end = read_machine()
        if self.load_run is None:
            return
        try:
            self.load_run.wait(self.spec.load.drain + _LOAD_EXIT_SLACK)
        except BrownoutError:
            self.log(f"the load process outstayed its {self.spec.load.drain:g}s drain; stopping it")
            self.load_run.stop()

    def current_records(self):
        from brownout.rundata.records import load_records

        return load_records(self.load_run.record_paths() if self.load_run else [])

    # ----- teardown -----------------------------------------------------------------------
    def stop_everything(self) -> None:
        """Stop every helper process and thread; one failing stop never skips the others."""
        if self._recovery_pool is not None:
            with self._timeline_lock:
                self._timeline_closed = True  # a ready-wait still polling can no longer change the timeline
            self._recovery_pool.shutdown(wait=False, cancel_futures=True)
        steps = [("probes", self.probe_runner, None), ("metrics sampler", self.sampler, None), ("load", self.load_run, "load")]
        steps += [(name, thing, name) for name, thing in (self.target.helpers() if self.target is not None else [])]
        for name, thing, journal_name in steps:
            if thing is None:
                continue
            try:
                thing.stop()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest; the journal keeps this one open
                self.log(f"could not stop {name}: {type(exc).__name__}: {exc} (run `brownout recover`)")
                continue
            if journal_name:
                self.journal.process_stopped(journal_name)
            if self.target is not None and journal_name not in (None, "load"):
                self.target.forget(journal_name)

    def write_traceback(self) -> Path | None:
        """Keep the traceback of an unexpected error for the bug report; the console gets one line."""
        if self.out_dir is None:
            return None
        path = self.out_dir / "brownout-error.txt"
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return path


def _harness(run: _Run) -> HarnessObservations | None:
    """The machine and load-process figures of the self-check so far (None when the load never started)."""
    if run.machine_start is None:
        return None
    end = run.machine_end or read_machine()
    return observations(run.machine_start, end, run.load_run.progress() if run.load_run is not None else None)


def _environment(run: _Run) -> dict[str, Any]:
    """Versions and host (collected by reports), plus what only the runner knows about the target."""
    from brownout.reports import collect_environment

    target = run.spec.target
    return {
        **collect_environment(run.options.workers or run.spec.load.workers).model_dump(),
        "target": "sandbox" if target.sandbox else "endpoint",
        "target_profile": target.sandbox.profile if target.sandbox else None,
        "base_url": redact_url(run.target.base_url) if run.target is not None else None,
        "run_id": run.journal.run_id if run.journal else None,
    }


def run_experiment(loaded: Any, options: RunOptions | None = None, log: Log | None = None) -> RunOutcome:
    """Run one experiment through every phase. Never leaves a fault applied or a process running."""
    options = options or RunOptions()
    log = log or Console()
    run = _Run(loaded, options, log)
    run.check_load_inputs()  # a bad input file is the user's error (SpecError, exit 2), found before anything starts

    for report in recover_stale(options.home, retries=0, budget=_STALE_BUDGET, log=log):
        if report.skipped:
            log(f"stale journal of run {report.run_id} left open (no time left at start): run `brownout recover`")
        else:
            log(f"recovered leftovers of run {report.run_id}: {len(report.undone)} fault(s) closed, ok={report.ok}"
                + ("" if report.ok else " (the rest stays open for `brownout recover`)"))

    in_main = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main:
        for sig in HANDLED_SIGNALS:
            previous[sig] = signal.signal(sig, run.signals.handle)

    status = RunStatus.ERROR
    message = ""
    score: float | None = None
    findings: list[str] = []
    harness: list[str] = []
    outputs: dict[str, Path] = {}
    resolutions: list[Resolution] = []
    try:
        try:
            run.open_journal()
            run.resolve_target()
            resolutions = run.resolve_faults()
            if options.dry_run:
                status = RunStatus.DRY_RUN
                return RunOutcome(status, run.journal.run_id, run.out_dir, resolutions=resolutions,
                                  message="dry run: nothing injected")
            status = _run_phases(run)
        except RunInterrupted as exc:
            status, message = RunStatus.INTERRUPTED, f"interrupted by {exc}"
        except AbortedError as exc:
            status, message = RunStatus.ABORTED, str(exc)
        except NotSteadyError as exc:
            status, message = RunStatus.NOT_STEADY, str(exc)
        except BrownoutError as exc:
            status, message = RunStatus.ERROR, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - a bug or an unexpected failure is still a harness error (exit 5), never a pass
            status, message = RunStatus.ERROR, f"unexpected {type(exc).__name__}: {exc} (traceback in {run.write_traceback()})"
        finally:
            run.signals.close_for_rollback()  # from here on a signal waits for rollback instead of cutting it
            run.cut_phases(run.clock.now())
            run.rollback_all()
            run.stop_everything()
        failed_undo = [u.fault for u in run.undo_results if not u.ok]
        if failed_undo:
            status = RunStatus.ERROR
            message = (message + "; " if message else "") + (
                f"rollback failed for {', '.join(failed_undo)}: the journal keeps them open, run `brownout recover`")
        if message:
            log(message)
        if not options.dry_run and run.out_dir is not None:  # a dry run that failed writes no results or report
            signum = run.signals.signum
            scored = _score_and_write(run, status, message, interrupted_exit_code(signum) if signum else None)
            outputs, status = scored["outputs"], scored["status"]
            score, findings, harness = scored["score"], scored["findings"], scored["harness"]
    finally:
        if run.journal is not None:
            run.journal.finish(status.value)
        if in_main:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    signum = run.signals.signum
    return RunOutcome(status, run.journal.run_id if run.journal else None, run.out_dir, outputs, resolutions, message,
                      signum, score, findings, harness)


_STALE_BUDGET = 3.0
"""Seconds a run's start spends on stale journals of dead runs (one undo attempt each); the rest are
reported and left for `brownout recover`."""

_GUARD_LAG = 2.0
"""Seconds of records re-read on each guard tick, so late and out-of-order records are not missed."""

_TICK = 0.25
"""Longest sleep of the phase loop: guards and progress run at least this often (fault windows wake it on
time whatever the tick; the load ships records every 0.5 s, so a shorter tick only costs the runner CPU)."""

_LOAD_EXIT_SLACK = 10.0
"""Seconds past `load.drain` the load process gets to write its last records and exit."""

_LOAD_LEAD_TIME = 2.5
"""Seconds between asking for load and its first arrival: the load process imports Locust
(1-1.5 s) and must be waiting before its schedule starts, or it would send a catch-up burst."""


def _run_phases(run: _Run) -> RunStatus:
    spec = run.spec
    phases = spec.phases
    run.build_guards()
    _warm_up_scoring(run)
    run.start_metrics()
    run.start_probes()
    start = run.clock.now() + _LOAD_LEAD_TIME
    run.start_load(start, start + phases.total)
    bounds = [start]
    for length in (phases.warmup, phases.baseline, phases.fault, phases.recovery):
        bounds.append(bounds[-1] + length)
    time.sleep(max(0.0, start - run.clock.now()))
    run.machine_start = read_machine()

    warmup = run.phase("warmup", bounds[0], bounds[1])
    run.hold("warmup", warmup.end)
    run.warn_if_load_started_late(start)

    baseline = run.phase("baseline", bounds[1], bounds[2])
    run.hold("baseline", baseline.end)
    if not run.steady_state(baseline, "before faults"):
        raise NotSteadyError("steady-state hypothesis did not hold over the baseline; no fault was injected")

    fault = run.phase("fault", bounds[2], bounds[3])
    windows = plan_fault_windows(spec.faults, fault.start, phases.fault, spec.load.seed)
    run.hold("fault", fault.end, windows)
    run.rollback_faults()  # the set-up links stay: recovery sees the same network path as the baseline

    recovery = run.phase("recovery", bounds[3], bounds[4])
    run.wait_recovered(phases.recovery)
    run.hold("recovery", recovery.end)
    run.finish_load()
    if spec.steady_state.recheck_after_recovery:
        tail = PhaseWindow("recovery", recovery.start + phases.recovery / 2, recovery.end)
        run.steady_state(tail, "after recovery")
    return RunStatus.PASSED  # the verdict on SLOs is decided by scoring


def _warm_up_scoring(run: _Run) -> None:
    """Import and exercise scoring before the load starts, so the pre-fault steady-state check that
    gates the fault phase costs milliseconds, not the seconds a first pandas import takes on a busy machine."""
    from brownout.rundata.records import load_records
    from brownout.reports import evaluate_steady_state

    evaluate_steady_state(run.spec, load_records([]), [], 0.0, 1.0, label="warm-up")


def _score_and_write(run: _Run, status: RunStatus, message: str, exit_code: int | None) -> dict[str, Any]:
    from brownout.reports import build_results, write_all
    from brownout.reports.failures import failure_lines

    run.timeline.run_end = run.clock.now()
    records = run.current_records()
    probes = run.probe_runner.results() if run.probe_runner else []
    results = build_results(
        run.spec,
        run.loaded.document_for_results(),
        records,
        probes,
        run.timeline,
        status=status.value,
        message=message,
        steady_state=None,  # re-judged on complete data: the live check could not wait for in-flight requests
        exit_code=exit_code,
        environment=_environment(run),
        harness=_harness(run),
        records_paths=[str(p) for p in (run.load_run.record_paths() if run.load_run else [])],
    )
    outputs = write_all(results, run.out_dir, records)
    for line in failure_lines(results):  # "failed how?", next to the verdict
        run.log(f"failed how: {line}", event="failures")
    final = RunStatus(results.verdict) if status is RunStatus.PASSED else status
    findings = [f"{r.kind} '{r.name}' ({r.phase}): {r.status}: {r.message}"
                for r in [*results.steady_state, *results.slos] if not r.passed]
    return {"outputs": outputs, "status": final, "score": results.score, "findings": findings,
            "harness": list(results.harness.reasons) if results.harness.saturated else []}
