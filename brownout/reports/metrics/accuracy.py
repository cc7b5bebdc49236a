"""Accuracy: the share of judged answers that were correct, and its error budget.

An answer is judged when a golden-set probe run got an answer to check
(`ProbeResult.correct` True or False) or a load request carried checks and was
answered (`RequestRecord.correct` True or False). Runs and requests with no
answer (timeouts, 5xx, errors) are left out: availability counts them, and
counting them here too would charge one outage twice. Both sources are pooled,
each answer weighing the same; the window shows how many came from each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brownout.reports.window import Window, anchor_times

__all__ = ["AnswerCounts", "AnswerTable", "accuracy", "accuracy_budget_burn", "count_answers"]


@dataclass(frozen=True)
class AnswerCounts:
    """Judged answers of one window: golden-set probe runs and checked load requests."""

    golden: int = 0
    golden_correct: int = 0
    load: int = 0
    load_correct: int = 0

    @property
    def judged(self) -> int:
        return self.golden + self.load

    @property
    def correct(self) -> int:
        return self.golden_correct + self.load_correct


def _judged(column: pd.Series) -> pd.Series:
    """The True/False values of a `correct` column (None or NaN: not judged), as booleans."""
    values = column[column.notna()]
    return values.astype(bool)


def count_answers(probes: pd.DataFrame, records: pd.DataFrame | None = None, probe: str | None = None) -> AnswerCounts:
    """Judged answers of the probe runs (only `probe`'s when given) and, without `probe`, of the requests."""
    runs = probes if probe is None else probes[probes["probe"] == probe]
    golden = _judged(runs["correct"]) if "correct" in runs else pd.Series(dtype=bool)
    load = _judged(records["correct"]) if probe is None and records is not None and "correct" in records else pd.Series(dtype=bool)
    return AnswerCounts(golden=len(golden), golden_correct=int(golden.sum()), load=len(load), load_correct=int(load.sum()))


def accuracy(counts: AnswerCounts) -> float | None:
    """Formula: correct answers / judged answers, golden-set probe runs and checked load requests pooled
    (a run or request that got no answer is not judged). Unit: ratio 0..1. Higher is better. None without answers."""
    return None if counts.judged == 0 else counts.correct / counts.judged


def accuracy_budget_burn(counts: AnswerCounts, accuracy_budget: float) -> float | None:
    """Formula: wrong answers / (accuracy_budget * judged answers). Unit: ratio (1 = the whole budget). Lower is better."""
    return None if counts.judged == 0 else (counts.judged - counts.correct) / (accuracy_budget * counts.judged)


@dataclass(frozen=True)
class AnswerTable:
    """Judged answers sorted by time, so many small windows (time buckets) are slices, not frame filters.

    A probe run is placed at its start `t`, a request at its anchor (as `reports.window` places it).
    """

    t: np.ndarray
    correct: np.ndarray

    @classmethod
    def build(cls, probes: pd.DataFrame, records: pd.DataFrame) -> AnswerTable:
        parts = []
        if "correct" in probes:
            runs = probes[probes["correct"].notna()]
            parts.append((pd.to_numeric(runs["t"], errors="coerce"), runs["correct"]))
        if "correct" in records:
            checked = records[records["correct"].notna()]
            parts.append((anchor_times(checked), checked["correct"]))
        t = np.concatenate([p[0].to_numpy(dtype=float) for p in parts]) if parts else np.empty(0)
        ok = np.concatenate([p[1].astype(bool).to_numpy(dtype=bool) for p in parts]) if parts else np.empty(0, bool)
        placed = ~np.isnan(t)
        order = np.argsort(t[placed], kind="stable")
        return cls(t=t[placed][order], correct=ok[placed][order])

    def _span(self, window: Window) -> slice:
        lo, hi = np.searchsorted(self.t, [window.start, window.end], side="left")
        return slice(int(lo), int(hi))

    def judged(self, window: Window) -> int:
        """Judged answers in `[window.start, window.end)`."""
        at = self._span(window)
        return at.stop - at.start

    def accuracy(self, window: Window) -> float | None:
        """`accuracy` over the answers in `[window.start, window.end)`, both sources pooled."""
        at = self._span(window)
        return None if at.stop == at.start else float(self.correct[at].mean())
