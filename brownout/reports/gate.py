"""The CI gate: re-judge saved results, and compare them with an earlier run.

A release passes when its own verdict passed and, given a baseline, it neither
lost more than `max_score_drop` resilience points nor failed an SLO the baseline
met. So a release that degrades more gracefully than yesterday's passes, and one
that regressed fails, even when both still meet their absolute SLOs. A run the
saturated harness left `inconclusive` keeps its own exit code (6, CI may retry):
an objective it could not judge is no regression, and it has no score to compare. Results
of a run that never finished (interrupted, or aborted by a stop condition) have no score
either: the gate says so with its own exit code, 7, rather than borrowing a run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from brownout.errors import SpecError
from brownout.reports.fmt import format_score
from brownout.reports.results import EXIT_CODES, SCORED_VERDICTS, RunResults

__all__ = ["GateVerdict", "judge", "read_results", "same_experiment"]

UNFINISHED = frozenset({"interrupted", "aborted"})
"""Verdicts of runs that stopped before they could be scored: the gate's exit 7."""


@dataclass
class GateVerdict:
    passed: bool
    exit_code: int
    reasons: list[str] = field(default_factory=list)   # why it failed; empty when it passed
    headline: str = ""                                 # the one line `brownout gate` prints first


def read_results(path: Path) -> RunResults:
    """Load a results JSON file; a missing, foreign or corrupt file is a located SpecError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read results: {exc.strerror or exc}", file=str(path)) from exc
    try:
        return RunResults.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SpecError(
            f"not a brownout results file: {first['msg']}", file=str(path), field=where or None,
            hint="brownout gate and brownout report read the results.json that brownout run writes",
        ) from exc


def same_experiment(current: RunResults, baseline: RunResults) -> str | None:
    """Why `baseline` cannot be compared with `current` (None when it can): another experiment
    has other SLOs and another score scale, so a "regression" against it means nothing."""
    if current.experiment == baseline.experiment:
        return None
    return (f"the baseline is a run of experiment '{baseline.experiment}', "
            f"the results are of '{current.experiment}'")


def judge(current: RunResults, baseline: RunResults | None = None, max_score_drop: float | None = None) -> GateVerdict:
    """Pass/fail and the reasons, from the saved SLO results (nothing is re-measured)."""
    reasons = [
        f"{r.kind} '{r.name}' ({r.phase}) {r.status}: {r.message}"
        for r in [*current.steady_state, *current.slos] if not r.passed
    ]
    if current.verdict == "inconclusive":
        reasons.insert(0, "inconclusive: the load generator was saturated, so its latency objectives could not be "
                          "judged (a retry on a quieter machine may decide)")
    elif current.verdict not in SCORED_VERDICTS:
        reasons.insert(0, f"the run did not complete: {current.verdict}")
    # Not the run's own code: 130/143 would tell CI the *gate* was interrupted.
    exit_code = EXIT_CODES["unscored"] if current.verdict in UNFINISHED else EXIT_CODES[current.verdict]
    if baseline is not None:
        was_met = {r.name for r in baseline.slos if r.passed}
        reasons += [f"regression: SLO '{r.name}' passed in the baseline run and fails now"
                    for r in current.slos if r.name in was_met and not r.passed and r.inconclusive_reason != "harness"]
        now, then = current.comparable_score(), baseline.comparable_score()
        if max_score_drop is not None and now is not None and then is not None:
            drop = then - now
            if drop > max_score_drop:
                reasons.append(f"regression: resilience score fell {drop:.1f} points "
                               f"({then:.1f} -> {now:.1f}), more than the {max_score_drop:g} allowed")
        if reasons and exit_code == 0:
            exit_code = EXIT_CODES["failed"]
    named = {EXIT_CODES["inconclusive"]: "inconclusive", EXIT_CODES["unscored"]: "unscored"}
    outcome = "passed" if not reasons else named.get(exit_code, "failed")
    headline = (f"gate: {outcome} ({current.experiment}, verdict {current.verdict}, "
                f"score {format_score(current.comparable_score(), 1)})")
    return GateVerdict(passed=not reasons, exit_code=exit_code, reasons=reasons, headline=headline)
