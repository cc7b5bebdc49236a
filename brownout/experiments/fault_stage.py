"""Faults during a run: inject on schedule, roll back on schedule and on every way out, watch recovery.

Every step is journaled before it acts, so `brownout recover` can finish the job
after a SIGKILL; one rollback that fails never keeps the others from running.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from brownout.errors import BrownoutError, InjectError
from brownout.experiments.console import fields_text, rollback_line
from brownout.experiments.fault_plan import PlannedWindow
from brownout.experiments.journal import OpenFault
from brownout.experiments.rollback import UndoResult, undo_or_close
from brownout.experiments.state import RunState
from brownout.faults.base import FaultDriver, FaultHandle, Resolution
from brownout.faults.registry import DRIVERS
from brownout.processes import test_hold
from brownout.rundata.timeline import FAULT_DRIFT_WARNING, FaultWindow, TimelineEvent

__all__ = ["Applied", "FaultStage"]


@dataclass
class Applied:
    window: PlannedWindow
    handle: FaultHandle
    record: FaultWindow
    driver: type[FaultDriver]
    entry: OpenFault   # as journaled: which of the run's own helpers it acts on


class FaultStage:
    """The faults of one run: what is applied, what was undone, and the recovery watch."""

    def __init__(self, run: RunState) -> None:
        self.run = run
        self.applied: list[Applied] = []
        self.undo_results: list[UndoResult] = []
        self._recovery_pool: ThreadPoolExecutor | None = None

    def drivers(self) -> list[FaultDriver]:
        spec, context = self.run.spec, self.run.context
        missing = sorted({f.kind for f in spec.faults if f.kind not in DRIVERS})
        if missing:
            raise InjectError(f"no driver for fault kind(s): {', '.join(missing)}")
        return [DRIVERS[f.kind](f, context) for f in spec.faults]

    def resolve(self) -> list[Resolution]:
        resolutions = [driver.resolve() for driver in self.drivers()]
        if not self.run.options.dry_run:
            for res in resolutions:
                self.run.log(f"fault '{res.fault}' ({res.kind}) will: {res.action}")
        return resolutions

    def due(self) -> list[float]:
        """Planned rollback times of the faults still applied."""
        return [a.window.rollback_at for a in self.applied if a.record.rolled_back_at is None]

    def tick(self, now: float, pending: list[PlannedWindow]) -> None:
        """Inject what is due from `pending` (removing it) and roll back what has run its length."""
        for window in [w for w in pending if w.inject_at <= now]:
            pending.remove(window)
            self.inject(window)
        for applied in [a for a in self.applied if a.record.rolled_back_at is None and a.window.rollback_at <= now]:
            self.rollback(applied)

    def inject(self, window: PlannedWindow) -> None:
        run = self.run
        driver_cls = DRIVERS[window.fault.kind]
        driver = driver_cls(window.fault, run.context)
        # Only a region outage makes a failover: a replica kill scoped to a region does not.
        region = window.fault.region_outage or (window.fault.region if window.fault.kind == "sandbox.region-down" else None)
        record = FaultWindow(window.fault.name, window.fault.kind, injected_at=None, region=region,
                             planned_inject_at=window.inject_at, planned_rollback_at=window.rollback_at)
        run.timeline.faults.append(record)
        try:
            handle = driver.prepare()
        except BrownoutError as exc:
            record.error = str(exc)
            run.event("fault_inject_failed", window.fault.name, error=str(exc))
            raise
        owned = run.target.owned_urls() if run.target is not None else {}
        entry = run.journal.fault_intent(window.entry_id, handle.to_dict(), owned)
        self.applied.append(Applied(window, handle, record, driver_cls, entry))
        try:
            detail = driver.inject(handle)
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            run.event("fault_inject_failed", window.fault.name, error=record.error)
            raise InjectError(f"fault '{window.fault.name}' failed to inject: {exc}") from exc
        record.injected_at = run.clock.now()
        record.detail = detail
        record.targets = [str(t) for t in handle.data.get("replicas", handle.data.get("targets", []))]
        run.journal.fault_applied(window.entry_id, detail, handle.to_dict())
        run.event("fault_injected", window.fault.name, **detail)
        if record.region:
            run.event("region_down", record.region)
        run.log(f"injected '{window.fault.name}': {driver.describe()} ({fields_text(detail)})", event="fault_injected",
                fault=window.fault.name, kind=window.fault.kind, detail=detail)
        self.warn_if_late(window.fault.name, "injected", record.injected_at, window.inject_at)

    def rollback(self, applied: Applied) -> None:
        if applied.record.rolled_back_at is not None:
            return
        run = self.run
        test_hold("rollback")
        policy = run.spec.rollback
        dead = run.target.dead_helpers() if run.target is not None else set()
        result = undo_or_close(applied.entry, applied.handle, run.journal, dead, "during the run",
                               retries=policy.retries, backoff=policy.backoff, log=run.log)
        self.undo_results.append(result)
        name = applied.window.fault.name
        applied.record.rolled_back_at = run.clock.now()
        self.warn_if_late(name, "rolled back", applied.record.rolled_back_at, applied.window.rollback_at)
        if result.ok:
            run.event("fault_rolled_back", name, attempts=result.attempts)
            if applied.record.region:
                run.event("region_up", applied.record.region)
            run.log(rollback_line(name, result.detail), event="fault_rolled_back", fault=name)
        else:
            applied.record.error = result.error
            run.event("fault_rollback_failed", name, error=result.error)
            run.log(f"ROLLBACK FAILED for '{name}': {result.error} (journal keeps it open; run `brownout recover`)",
                    event="fault_rollback_failed", fault=name, error=result.error)

    def warn_if_late(self, fault: str, action: str, actual: float, planned: float) -> None:
        """A fault off its schedule changes what the phases measured: say so, never silently."""
        drift = actual - planned
        if drift > FAULT_DRIFT_WARNING:
            self.run.event("fault_late", fault, action=action, drift=round(drift, 3))
            self.run.log(f"WARNING: '{fault}' {action} {drift:.2f}s after its planned time (more than "
                         f"{FAULT_DRIFT_WARNING:g}s: the fault window is shorter or later than planned)",
                         event="fault_late", level="warning", fault=fault, action=action, drift=round(drift, 3))

    def rollback_faults(self) -> None:
        """Undo every applied fault, newest first; one that raises never keeps the others."""
        for applied in reversed(self.applied):
            try:
                self.rollback(applied)
            except Exception as exc:  # noqa: BLE001 - e.g. the journal's disk is full: log, keep undoing
                self.run.log(f"ROLLBACK FAILED for '{applied.window.fault.name}': {type(exc).__name__}: {exc} "
                             "(run `brownout recover`)")
                self.undo_results.append(UndoResult(applied.window.entry_id, applied.window.fault.name,
                                                    applied.window.fault.kind, False, 0, time.time(), error=str(exc)))

    def rollback_all(self) -> None:
        """Undo every applied fault, then the set-up links (newest first)."""
        self.rollback_faults()
        run = self.run
        policy = run.spec.rollback
        while run.target is not None and run.target.links:
            entry, handle = run.target.links.pop()
            result = undo_or_close(entry, handle, run.journal, run.target.dead_helpers(), "during the run",
                                   retries=policy.retries, backoff=policy.backoff, log=run.log)
            self.undo_results.append(result)

    def failed_undo(self) -> list[str]:
        return [u.fault for u in self.undo_results if not u.ok]

    def wait_recovered(self, timeout: float) -> None:
        """Record when each rolled-back fault's targets are ready again, in parallel, bounded by `timeout`."""
        run = self.run
        if not run.spec.rollback.wait_ready:
            return
        todo = [a for a in self.applied if a.record.injected_at is not None]
        if not todo:
            return

        def wait(applied: Applied) -> None:
            t = applied.driver.wait_ready(applied.handle, timeout)
            with run.timeline_lock:  # scoring may already be reading the timeline: then it is too late
                if t is not None and not run.timeline_closed:  # epoch seconds, the run clock's axis
                    applied.record.recovered_at = t
                    run.timeline.events.append(TimelineEvent(t, "fault_recovered", applied.window.fault.name))

        self._recovery_pool = ThreadPoolExecutor(max_workers=min(8, len(todo)), thread_name_prefix="ready")
        for applied in todo:
            self._recovery_pool.submit(wait, applied)

    def stop_recovery_watch(self) -> None:
        """From here the timeline is closed: a ready-wait still polling can no longer change it."""
        if self._recovery_pool is None:
            return
        with self.run.timeline_lock:
            self.run.timeline_closed = True
        self._recovery_pool.shutdown(wait=False, cancel_futures=True)
