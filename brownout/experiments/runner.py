"""The run lifecycle: fixed phases, a journal entry before each step, rollback in `finally`.

    validate -> recover stale journals -> resolve target (start sandbox) -> health check
    -> resolve faults (dry run stops here) -> start probes and load
    -> warmup -> baseline -> steady-state hypothesis (abort: NOT_STEADY, nothing injected)
    -> fault phase (inject/rollback on schedule, guards every tick)
    -> rollback whatever is left (reverse order) -> recovery (ready events)
    -> the load drains (in-flight requests get `load.drain`) -> steady state again, on complete data
    -> stop probes/sandbox -> harness self-check -> save run.json -> score the saved folder -> outputs

Rollback runs on normal end, on a stop condition, on any exception and on
SIGINT/SIGTERM. After SIGKILL the journal lets `brownout recover` finish the job.
This module is the lifecycle, top to bottom; each step lives in its own module:
`state` (what the steps share), `services` (load, probes, metrics), `fault_stage`,
`watch` (the phase loop, guards, steady state), `finish` (stop, save, score).
"""

from __future__ import annotations

import enum
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from brownout.errors import AbortedError, BrownoutError, NotSteadyError
from brownout.exit_codes import interrupted_exit_code
from brownout.experiments.console import Console
from brownout.experiments.fault_plan import plan_fault_windows
from brownout.experiments.fault_stage import FaultStage
from brownout.experiments.finish import score_and_write, stop_everything, warm_up_scoring
from brownout.experiments.loading import LoadedExperiment
from brownout.experiments.rollback import recover_stale
from brownout.experiments.selfcheck import read_machine
from brownout.experiments.services import Services
from brownout.experiments.signals import HANDLED_SIGNALS, RunInterrupted
from brownout.experiments.state import Log, RunOptions, RunState
from brownout.experiments.watch import Watch
from brownout.faults.base import Resolution
from brownout.rundata.timeline import PhaseWindow

__all__ = ["RunInterrupted", "RunOptions", "RunOutcome", "RunStatus", "run_experiment"]


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


STALE_BUDGET = 3.0
"""Seconds a run's start spends on stale journals of dead runs (one undo attempt each); the rest are
reported and left for `brownout recover`."""

LOAD_LEAD_TIME = 2.5
"""Seconds between asking for load and its first arrival: the load process imports Locust
(1-1.5 s) and must be waiting before its schedule starts, or it would send a catch-up burst."""


@dataclass
class _Steps:
    """The parts of one run, built once: shared state and the three jobs that act on it."""

    run: RunState
    services: Services
    faults: FaultStage
    watch: Watch

    @classmethod
    def build(cls, loaded: LoadedExperiment, options: RunOptions, log: Log) -> _Steps:
        run = RunState(loaded, options, log)
        services, faults = Services(run), FaultStage(run)
        return cls(run, services, faults, Watch(run, services, faults))


def run_experiment(loaded: LoadedExperiment, options: RunOptions | None = None, log: Log | None = None) -> RunOutcome:
    """Run one experiment through every phase. Never leaves a fault applied or a process running."""
    options = options or RunOptions()
    log = log or Console()
    steps = _Steps.build(loaded, options, log)
    run = steps.run
    steps.services.check_load_inputs()  # a bad input file is the user's error (SpecError, exit 2), found before anything starts

    for report in recover_stale(options.home, retries=0, budget=STALE_BUDGET, log=log):
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
    outcome = RunOutcome(status, None, None)
    try:
        try:
            run.open_journal()
            run.resolve_target()
            outcome.resolutions = steps.faults.resolve()
            if options.dry_run:
                status = RunStatus.DRY_RUN
                return RunOutcome(status, run.journal.run_id, run.out_dir, resolutions=outcome.resolutions,
                                  message="dry run: nothing injected")
            status = _run_phases(steps)
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
            steps.faults.rollback_all()
            stop_everything(run, steps.services, steps.faults)
        failed_undo = steps.faults.failed_undo()
        if failed_undo:
            status = RunStatus.ERROR
            message = (message + "; " if message else "") + (
                f"rollback failed for {', '.join(failed_undo)}: the journal keeps them open, run `brownout recover`")
        if message:
            log(message)
        if not options.dry_run and run.out_dir is not None:  # a dry run that failed writes no results or report
            signum = run.signals.signum
            scored = score_and_write(run, steps.services, status.value, message,
                                     interrupted_exit_code(signum) if signum else None)
            outcome.outputs, outcome.score = scored.outputs, scored.score
            outcome.findings, outcome.harness = scored.findings, scored.harness
            if status is RunStatus.PASSED:  # ran to the end: scoring decides
                status = RunStatus(scored.verdict)
    finally:
        if run.journal is not None:
            run.journal.finish(status.value)
        if in_main:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    outcome.status, outcome.message, outcome.signum = status, message, run.signals.signum
    outcome.run_id, outcome.out_dir = run.journal.run_id if run.journal else None, run.out_dir
    return outcome


def _run_phases(steps: _Steps) -> RunStatus:
    run, services, faults, watch = steps.run, steps.services, steps.faults, steps.watch
    spec = run.spec
    phases = spec.phases
    watch.build_guards()
    warm_up_scoring(run)
    services.start_metrics()
    services.start_probes()
    start = run.clock.now() + LOAD_LEAD_TIME
    services.start_load(start, start + phases.total)
    bounds = [start]
    for length in (phases.warmup, phases.baseline, phases.fault, phases.recovery):
        bounds.append(bounds[-1] + length)
    time.sleep(max(0.0, start - run.clock.now()))
    services.machine_start = read_machine()

    warmup = run.phase("warmup", bounds[0], bounds[1])
    watch.hold("warmup", warmup.end)
    services.warn_if_load_started_late(start)

    baseline = run.phase("baseline", bounds[1], bounds[2])
    watch.hold("baseline", baseline.end)
    if not watch.steady_state(baseline, "before faults"):
        raise NotSteadyError("steady-state hypothesis did not hold over the baseline; no fault was injected")

    fault = run.phase("fault", bounds[2], bounds[3])
    windows = plan_fault_windows(spec.faults, fault.start, phases.fault, spec.load.seed)
    watch.hold("fault", fault.end, windows)
    faults.rollback_faults()  # the set-up links stay: recovery sees the same network path as the baseline

    recovery = run.phase("recovery", bounds[3], bounds[4])
    faults.wait_recovered(phases.recovery)
    watch.hold("recovery", recovery.end)
    services.finish_load()
    if spec.steady_state.recheck_after_recovery:
        tail = PhaseWindow("recovery", recovery.start + phases.recovery / 2, recovery.end)
        watch.steady_state(tail, "after recovery")
    return RunStatus.PASSED  # the verdict on SLOs is decided by scoring
