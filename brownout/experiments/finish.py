"""The end of a run: stop every helper, save what scoring needs, score the saved folder, write the outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brownout.experiments.fault_stage import FaultStage
from brownout.experiments.services import Services
from brownout.experiments.state import RunState
from brownout.redact import redact_document, redact_url
from brownout.rundata.run import RunFacts

__all__ = ["Scored", "score_and_write", "stop_everything", "warm_up_scoring"]


@dataclass
class Scored:
    outputs: dict[str, Path]
    verdict: str
    score: float | None
    findings: list[str] = field(default_factory=list)   # one line per SLO / steady-state check that did not pass
    harness: list[str] = field(default_factory=list)    # why the harness self-check found itself saturated


def stop_everything(run: RunState, services: Services, faults: FaultStage) -> None:
    """Stop every helper process and thread; one failing stop never skips the others."""
    faults.stop_recovery_watch()
    steps = services.stoppable()
    steps += [(name, thing, name) for name, thing in (run.target.helpers() if run.target is not None else [])]
    for name, thing, journal_name in steps:
        if thing is None:
            continue
        try:
            thing.stop()
        except Exception as exc:  # noqa: BLE001 - keep stopping the rest; the journal keeps this one open
            run.log(f"could not stop {name}: {type(exc).__name__}: {exc} (run `brownout recover`)")
            continue
        if journal_name:
            run.journal.process_stopped(journal_name)
        if run.target is not None and journal_name not in (None, "load"):
            run.target.forget(journal_name)


def warm_up_scoring(run: RunState) -> None:
    """Import and exercise scoring before the load starts, so the pre-fault steady-state check that
    gates the fault phase costs milliseconds, not the seconds a first pandas import takes on a busy machine."""
    from brownout.reports import evaluate_steady_state
    from brownout.rundata.records import load_records

    evaluate_steady_state(run.spec, load_records([]), [], 0.0, 1.0, label="warm-up")


def _environment(run: RunState) -> dict[str, Any]:
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


def _relative(path: Path, folder: Path) -> str:
    """A saved path relative to the run folder when inside it, so a moved or copied folder still reads."""
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path)


def score_and_write(run: RunState, services: Services, status: str, message: str,
                    exit_code: int | None) -> Scored:
    """Save `run.json`, then score the run folder as saved (`reports.saved`) and write every output."""
    from brownout.reports import write_all
    from brownout.reports.accuracy import accuracy_lines
    from brownout.reports.failures import failure_lines
    from brownout.reports.saved import load_saved, score_saved

    run.timeline.run_end = run.clock.now()
    RunFacts(
        spec=redact_document(run.spec.model_dump(mode="json")),
        document=run.loaded.document_for_results(),
        timeline=run.timeline,
        status=status,
        message=message,
        exit_code=exit_code,
        environment=_environment(run),
        harness=services.harness(),
        records_paths=[_relative(p, run.out_dir) for p in (services.load_run.record_paths() if services.load_run else [])],
        inputs=run.inputs,
    ).write(services.folder)
    saved = load_saved(run.out_dir)
    results = score_saved(saved)
    outputs = write_all(results, run.out_dir, saved.records)
    for line in failure_lines(results):  # "failed how?", next to the verdict
        run.log(f"failed how: {line}", event="failures")
    for line in accuracy_lines(results):  # wrong answers, and silent degradation named as such
        run.log(f"accuracy: {line}", event="accuracy")
    findings = [f"{r.kind} '{r.name}' ({r.phase}): {r.status}: {r.message}"
                for r in [*results.steady_state, *results.slos] if not r.passed]
    return Scored(outputs, results.verdict, results.score, findings,
                  list(results.harness.reasons) if results.harness.saturated else [])
