"""What a dry run prints: the timeline the run would follow, and what each fault would hit.

The timeline is a pure function of the spec (`timeline_lines`): every phase with its
start and end, each fault's planned windows (`fault_plan.plan_fault_windows`, the same
schedule a real run follows, jitter seeded the same), the probes and the SLOs, and the
total. The resolution of targets needs the target itself, so `dry_run` runs the
runner's dry run in a throw-away folder and removes it: a dry run leaves no run folder.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Any

from brownout.experiments.console import Console, fields_text
from brownout.experiments.fault_plan import plan_fault_windows
from brownout.experiments.runner import RunOptions, RunOutcome, RunStatus, run_experiment
from brownout.reports.fmt import format_value
from brownout.spec.experiment import Experiment

__all__ = ["command_lines", "dry_run", "timeline_lines"]


def _s(seconds: float) -> str:
    return f"{seconds:g}s"


def command_lines(spec: Experiment) -> list[str]:
    """Every command the file can run, as it would run: an experiment file that runs commands is a script."""
    return [f"  runs: fault '{fault}' {step}: {line}" for fault, step, line in spec.commands()]


def timeline_lines(spec: Experiment) -> list[str]:
    """Phases with their times, planned fault windows, probes, SLOs and the total, seconds from the load's start."""
    phases = spec.phases
    lines = ["timeline (seconds from the first planned request):"]
    start = 0.0
    for name in ("warmup", "baseline", "fault", "recovery"):
        length = getattr(phases, name)
        if length > 0:
            lines.append(f"  {name:<9} {_s(start):>7} to {_s(start + length):<7} ({_s(length)})")
        start += length
    fault_start = phases.warmup + phases.baseline
    windows = plan_fault_windows(spec.faults, fault_start, phases.fault, spec.load.seed)
    for w in windows:
        repeat = f" #{w.index + 1}" if w.fault.schedule.repeat_every is not None else ""
        lines.append(f"  fault '{w.fault.name}'{repeat} ({w.fault.kind}): in at {_s(w.inject_at)}, out at "
                     f"{_s(w.rollback_at)} ({_s(w.rollback_at - w.inject_at)})")
    for fault in spec.faults:
        if not any(w.fault is fault for w in windows):
            lines.append(f"  fault '{fault.name}' ({fault.kind}): never (its schedule starts after the fault phase)")
    lines += [f"  probe '{p.name}' ({p.kind}): every {_s(p.interval)}, timeout {_s(p.timeout)}" for p in spec.probes]
    for slo in spec.slos:
        bound = format_value(slo.threshold, slo.metric)
        lines.append(f"  SLO '{slo.name}' [{slo.phase}, {slo.severity}]: {slo.label().rsplit(' ', 1)[0]} {bound}")
    lines.append(f"  total: {_s(phases.total)} of load, then up to {_s(spec.load.drain)} of drain")
    return lines


def _print_resolutions(outcome: RunOutcome, spec: Experiment) -> None:
    sandbox = spec.target.sandbox
    if sandbox is not None and not sandbox.attach:
        print("  (a sandbox was started only to resolve the targets below and is stopped again; a real run starts its own)")
    for res in outcome.resolutions:
        print(f"  fault '{res.fault}' ({res.kind}): {res.action} [{len(res.targets)} of {res.candidates} matching]")
        for target in res.targets:
            print(f"    - {target.kind} {target.name}" + (f" ({fields_text(target.detail)})" if target.detail else ""))


def dry_run(loaded: Any, options: RunOptions, console: Console) -> int:
    """Resolve every fault's targets (injecting nothing), print the timeline and them; remove the run folder."""
    scratch = Path(tempfile.mkdtemp(prefix="brownout-dry-run-"))
    try:
        outcome = run_experiment(loaded, dataclasses.replace(options, out_dir=scratch, dry_run=True), console)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    spec = loaded.spec
    if outcome.status is RunStatus.DRY_RUN:
        print(f"dry run of '{spec.metadata.name}': nothing was injected")
        for line in [*command_lines(spec), *timeline_lines(spec)]:
            print(line)
        _print_resolutions(outcome, spec)
        return 0
    from brownout.experiments.final import finish    # the dry run itself failed (target down, bad selector)

    return finish(outcome, console)
