"""How a run's end is told: the final lines for people, or exactly one `result` event for machines."""

from __future__ import annotations

from pathlib import Path

from brownout.exit_codes import EXIT_CODES, interrupted_exit_code
from brownout.experiments.console import Console
from brownout.experiments.runner import RunOutcome, RunStatus

__all__ = ["exit_code", "finish"]


def exit_code(outcome: RunOutcome) -> int:
    """The documented exit code of the run's status (an interrupt says which signal)."""
    if outcome.status is RunStatus.INTERRUPTED:
        return interrupted_exit_code(outcome.signum)
    return EXIT_CODES[outcome.status.value]


def _final_lines(outcome: RunOutcome) -> list[str]:
    """From the saved results when there are some (SLO table, score and why, errors, impact), else the outcome."""
    path = outcome.outputs.get("json")
    if path is not None and Path(path).exists():
        from brownout.reports.console_lines import final_lines
        from brownout.reports.results import RunResults

        return final_lines(RunResults.model_validate_json(Path(path).read_text(encoding="utf-8")))
    if outcome.score is not None:
        return [f"resilience score: {outcome.score:.0f}/100"]
    return ["resilience score: — (only runs that passed or failed are scored)"]


def finish(outcome: RunOutcome, console: Console) -> int:
    """Tell how the run ended and return its exit code.

    Text: the verdict, then the final lines, the harness self-check, what was not met, and every output
    path, on stdout. JSON: one `result` event (verdict, score, exit code, message, run id, every output
    path; `why` says why a run did not run to the end) through the console, which then owns stdout.
    """
    code = exit_code(outcome)
    if console.fmt == "json":
        console(f"verdict: {outcome.status.value}", event="result", verdict=outcome.status.value, score=outcome.score,
                exit_code=code, why=outcome.message, run_id=outcome.run_id,
                outputs={kind: str(path) for kind, path in outcome.outputs.items()})
        return code
    print(f"verdict: {outcome.status.value}" + (f" ({outcome.message})" if outcome.message else ""))
    for line in _final_lines(outcome):
        print(line)
    for line in outcome.harness:
        print(f"  harness self-check: {line} (latency objectives are inconclusive; availability still counts)")
    for line in outcome.findings:
        print(f"  not met: {line}")
    for kind, path in outcome.outputs.items():
        print(f"{kind}: {path}")
    return code
