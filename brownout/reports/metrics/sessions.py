"""Multi-turn sessions over the records frame: each session's fate, survival, TTFT by turn.

A session is the records sharing a `session` id (turns `turn` = 1..`turns`). Its
fate, from its records:
- `broken`: a turn failed (the load generator stops a session there); the first
  failed turn and its error class and text say where and why;
- `survived`: every one of its `turns` turns was answered (ok or degraded);
- `unfinished`: the harness ended it (a turn abandoned, or the run ended before
  its next turn): like an abandoned request, counted but judged by no rate.
A session belongs to the window its first turn is anchored in
(`brownout.reports.window`), the phase it started in, wherever its later turns fall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brownout.reports.metrics.latency import latency_samples, latency_stats
from brownout.reports.models import BrokenSessions, SessionsSummary
from brownout.reports.window import Window, anchor_times

__all__ = ["session_fates", "session_survival_rate", "sessions_in_window", "sessions_summary", "ttft_by_turn"]

FATE_COLUMNS = ["session", "start", "turns", "reached", "fate", "broken_turn", "error_class", "error", "region"]


def session_fates(records: pd.DataFrame) -> pd.DataFrame:
    """One row per session (FATE_COLUMNS): where it started, how far it got and how it ended."""
    rows = records[records["session"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=FATE_COLUMNS)
    rows = rows.assign(anchor=anchor_times(rows), turn=pd.to_numeric(rows["turn"], errors="coerce"))
    out = []
    for session, turns in rows.sort_values("turn").groupby("session", sort=True):
        first, last = turns.iloc[0], turns.iloc[-1]
        failed = turns[turns["outcome"] == "failed"]
        planned = int(pd.to_numeric(first["turns"], errors="coerce")) if pd.notna(first["turns"]) else len(turns)
        broken = failed.iloc[0] if len(failed) else None
        if broken is not None:
            fate = "broken"
        elif (turns["outcome"] == "abandoned").any() or len(turns) < planned:
            fate = "unfinished"
        else:
            fate = "survived"
        out.append({
            "session": session, "start": first["anchor"], "turns": planned, "reached": int(last["turn"]), "fate": fate,
            "broken_turn": int(broken["turn"]) if broken is not None else None,
            "error_class": broken["error_class"] if broken is not None else None,
            "error": broken["error"] if broken is not None else None,
            "region": broken["region"] if broken is not None else None,
        })
    return pd.DataFrame(out, columns=FATE_COLUMNS)


def sessions_in_window(fates: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The sessions that started in `[window.start, window.end)`."""
    start = pd.to_numeric(fates["start"], errors="coerce")
    return fates[(start >= window.start) & (start < window.end)]


def session_survival_rate(fates: pd.DataFrame) -> float | None:
    """Formula: sessions that completed every turn / sessions judged (survived + broken), by the phase each
    started in; unfinished ones (ended by the harness) are left out. Unit: ratio 0..1. Higher is better.
    None without a judged session."""
    judged = fates[fates["fate"] != "unfinished"]
    return None if judged.empty else float((judged["fate"] == "survived").mean())


def ttft_by_turn(records: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """Formula: ttft (t_first - t_send) of the answered turns, per turn number (1 = a session's first request).
    Unit: seconds. Lower is better. Later turns resend a longer conversation, so their prefill grows."""
    rows = records[records["session"].notna()]
    turn = pd.to_numeric(rows["turn"], errors="coerce")
    out = {}
    for number in sorted(int(t) for t in turn.dropna().unique()):
        sample = latency_samples(rows[turn == number], "ttft", adjusted=False)
        out[str(number)] = {"n": int(np.size(sample)), **latency_stats(sample)}
    return out


def sessions_summary(fates: pd.DataFrame, phases: dict[str, Window]) -> SessionsSummary | None:
    """Counts by fate and the broken sessions grouped by (start phase, broken turn, error class); None without sessions."""
    if fates.empty:
        return None
    broken = fates[fates["fate"] == "broken"].assign(phase=lambda f: [_phase_of(t, phases) for t in f["start"]])
    groups = []
    for (phase, turn, error_class), rows in broken.groupby(["phase", "broken_turn", "error_class"], sort=True, dropna=False):
        groups.append(BrokenSessions(
            phase=str(phase), turn=int(turn), error_class=str(error_class), sessions=len(rows), turns=int(rows["turns"].max()),
            example=str(rows["error"].dropna().iloc[0]) if rows["error"].notna().any() else "",
            regions=sorted({str(r) for r in rows["region"].dropna()}),
        ))
    groups.sort(key=lambda g: (-g.sessions, g.phase, g.turn))
    count = fates["fate"].value_counts()
    return SessionsSummary(
        sessions=len(fates), survived=int(count.get("survived", 0)), broken=int(count.get("broken", 0)),
        unfinished=int(count.get("unfinished", 0)), broken_by=groups,
    )


def _phase_of(t: float, phases: dict[str, Window]) -> str:
    for name, window in phases.items():
        if name != "run" and window.start <= t < window.end:
            return name
    return "outside the scored phases"
