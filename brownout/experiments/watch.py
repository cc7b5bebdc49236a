"""What the runner watches while a phase holds: stop conditions, its own helpers, progress, the steady state.

`Watch.hold` is the phase loop: it sleeps until the next due time (a fault to
inject or roll back, or a tick), so guards and the harness check run at least
every `TICK` seconds.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from brownout.errors import AbortedError
from brownout.experiments.fault_plan import PlannedWindow
from brownout.experiments.fault_stage import FaultStage
from brownout.experiments.services import Services
from brownout.experiments.state import RunState
from brownout.rundata.timeline import PhaseWindow

if TYPE_CHECKING:
    from brownout.experiments.guards import Trigger
    from brownout.reports.models import ObjectiveResult

__all__ = ["GUARD_LAG", "TICK", "Watch"]

GUARD_LAG = 2.0
"""Seconds of records re-read on each guard tick, so late and out-of-order records are not missed."""

TICK = 0.25
"""Longest sleep of the phase loop: guards and progress run at least this often (fault windows wake it on
time whatever the tick; the load ships records every 0.5 s, so a shorter tick only costs the runner CPU)."""


class Watch:
    """Guards, harness health and progress of one run, and the steady-state judgements it made."""

    def __init__(self, run: RunState, services: Services, faults: FaultStage) -> None:
        self.run = run
        self.services = services
        self.faults = faults
        self.triggers: list[Trigger] = []
        self.steady_results: list[ObjectiveResult] = []
        self._guard_cursor = 0.0
        self._guard_seen: set[str] = set()
        self._probe_cursor = 0
        self._last_progress = 0.0

    def build_guards(self) -> None:
        if self.run.spec.stop_conditions:
            from brownout.experiments.guards import build_triggers

            self.triggers = build_triggers(self.run.spec.stop_conditions)

    def hold(self, phase: str, until: float, windows: list[PlannedWindow] | None = None) -> None:
        """Wait until `until`, injecting and rolling back on schedule and checking guards each tick."""
        pending = list(windows or [])
        clock = self.run.clock
        while True:
            now = clock.now()
            self.faults.tick(now, pending)
            self.check_harness(phase)
            self.check_guards()
            self.progress(phase, until)
            if now >= until:
                return
            wake = min([until, now + TICK, *(w.inject_at for w in pending), *self.faults.due()])
            time.sleep(max(0.0, wake - clock.now()))

    def check_guards(self) -> None:
        if not self.triggers:
            return
        run, load_run = self.run, self.services.load_run
        now = run.clock.now()
        # Re-read a lagging window (workers ship records late and out of order) and feed each record once.
        window = load_run.records_since(self._guard_cursor - GUARD_LAG) if load_run else []
        records = [r for r in window if r["request_id"] not in self._guard_seen]
        self._guard_cursor = max([self._guard_cursor] + [r.get("t_end") or 0.0 for r in window])
        self._guard_seen = {r["request_id"] for r in window if (r.get("t_end") or 0.0) >= self._guard_cursor - GUARD_LAG}
        probes = self.services.probe_results()[self._probe_cursor:]
        self._probe_cursor += len(probes)
        for trigger in self.triggers:
            trigger.update(now, records, probes)
            firing = trigger.fired
            if firing is not None:
                run.event("guard_fired", firing.name, reason=firing.reason)
                run.log(f"stop condition '{firing.name}' fired: {firing.reason}", event="guard_fired",
                        guard=firing.name, reason=firing.reason)
                run.journal.append("guard_fired", name=firing.name, reason=firing.reason)
                raise AbortedError(firing.name, firing.reason)

    def check_harness(self, phase: str) -> None:
        from brownout.experiments.harness import check_harness, helpers_of
        from brownout.loadgen.plan import STATUS_FILE

        services = self.services
        status = services.folder.load_dir / STATUS_FILE if services.load_run is not None else None
        helpers = helpers_of(services.load_run, status, services.load_end, self.run.target)
        probes = services.probe_runner.running if services.probe_runner is not None else None
        check_harness(helpers, probes, self.run.clock.now(), phase)
        for worker in services.load_run.newly_lost_workers() if services.load_run is not None else []:
            self.run.event("load_worker_lost", worker)
            self.run.log(f"WARNING: load worker {worker} was lost (the master stopped hearing from it): its share of "
                         "the load is not sent and nothing of it is scored", event="load_worker_lost", level="warning",
                         worker=worker)

    def progress(self, phase: str, phase_end: float) -> None:
        run, load_run = self.run, self.services.load_run
        now = time.monotonic()
        if run.options.quiet or now - self._last_progress < run.options.progress_every or load_run is None:
            return
        self._last_progress = now
        snapshot = load_run.progress()
        if snapshot is None:
            return
        remaining = max(0.0, phase_end - run.clock.now())
        run.log(f"[{phase:>8}] {remaining:4.0f}s left | {snapshot.line()}", event="progress", phase=phase,
                remaining=round(remaining, 1), **dataclasses.asdict(snapshot))

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

        run, services = self.run, self.services
        records = services.current_records()
        results = evaluate_steady_state(run.spec, records, services.probe_results(), window.start, window.end,
                                        label=label)
        # A saturated harness makes latency checks untrustworthy here as in the verdict: they never abort a run.
        harness = judge_harness(services.harness(), in_window(records, Window(label, window.start, window.end)),
                                run.spec.scoring.self_check)
        results = [untrusted(r, harness) for r in results]
        for reason in harness.reasons:
            run.log(f"  harness self-check: {reason}", event="harness_saturated", level="warning", reason=reason)
        self.steady_results.extend(results)
        ok = all(r.passed or r.inconclusive_reason == "harness" for r in results)
        progress = services.load_run.progress() if services.load_run is not None else None
        in_flight = progress.in_flight if progress is not None and progress.state != "done" else 0
        basis = (f"provisional, {in_flight} request(s) still in flight; the verdict re-judges on all of them"
                 if in_flight else "every request complete")
        checks = [r.summary() for r in results]
        run.event("steady_state", label, ok=ok, checks=checks, in_flight=in_flight)
        run.journal.append("steady_state", label=label, ok=ok, checks=checks, in_flight=in_flight)
        run.log(f"steady state {label} ({basis}): {'holds' if ok else 'DOES NOT HOLD'}", event="steady_state",
                label=label, passed=ok, in_flight=in_flight)
        for r in results:
            run.log(f"  {r.name}: {r.message} -> {r.status}", event="steady_state_check", label=label,
                    check=r.name, passed=r.passed)
        return ok
