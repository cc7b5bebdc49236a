"""The CI gate: re-judge saved results, and compare them with an earlier run.

A release passes when its own verdict passed and, given a baseline, it neither
lost more than `max_score_drop` resilience points nor failed an SLO the baseline
met. So a release that degrades more gracefully than yesterday's passes, and one
that regressed fails, even when both still meet their absolute SLOs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from brownout.errors import SpecError
from brownout.reports.results import EXIT_CODES, RunResults

__all__ = ["GateVerdict", "judge", "read_results"]


@dataclass
class GateVerdict:
    passed: bool
    exit_code: int
    reasons: list[str] = field(default_factory=list)   # why it failed; empty when it passed


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


def judge(current: RunResults, baseline: RunResults | None = None, max_score_drop: float | None = None) -> GateVerdict:
    """Pass/fail and the reasons, from the saved SLO results (nothing is re-measured)."""
    reasons = [
        f"{r.kind} '{r.name}' ({r.phase}) {r.status}: {r.message}"
        for r in [*current.steady_state, *current.slos] if not r.passed
    ]
    if current.verdict not in ("passed", "failed"):
        reasons.insert(0, f"the run did not complete: {current.verdict}")
    # An interrupted run is judged as a harness error (5): 130/143 would tell CI the *gate* was interrupted.
    exit_code = EXIT_CODES["error"] if current.verdict == "interrupted" else EXIT_CODES[current.verdict]
    if baseline is not None:
        was_met = {r.name for r in baseline.slos if r.passed}
        reasons += [f"regression: SLO '{r.name}' passed in the baseline run and fails now"
                    for r in current.slos if r.name in was_met and not r.passed]
        if max_score_drop is not None and current.score is not None and baseline.score is not None:
            drop = baseline.score - current.score
            if drop > max_score_drop:
                reasons.append(f"regression: resilience score fell {drop:.1f} points "
                               f"({baseline.score:.1f} -> {current.score:.1f}), more than the {max_score_drop:g} allowed")
        if reasons and exit_code == 0:
            exit_code = EXIT_CODES["failed"]
    return GateVerdict(passed=not reasons, exit_code=exit_code, reasons=reasons)
