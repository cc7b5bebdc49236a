"""Agent workflows over the records frame: each workflow's fate, success rate, steps and end-to-end time.

A workflow is the records sharing a `workflow` id, one per step (`step` 1..). Its
fate, from its last step (the load generator stops at the first failed one):
- `completed`: the last step was answered (ok or degraded) with no tool calls:
  the final answer;
- `failed`: a step failed (its error class says why);
- `step_limit`: the last allowed step (`max_steps`) still asked for tools;
- `unfinished`: the harness ended it (a step abandoned, or the run ended between
  steps): counted, judged by no rate.
A workflow belongs to the window its first step is anchored in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brownout.reports.metrics.latency import latency_stats
from brownout.reports.models import WorkflowsSummary
from brownout.reports.window import Window, anchor_times

__all__ = ["workflow_e2e", "workflow_fates", "workflow_steps", "workflow_success_rate", "workflows_in_window",
           "workflows_summary"]

FATE_COLUMNS = ["workflow", "start", "steps", "fate", "error_class", "e2e"]


def _fate(last: pd.Series) -> str:
    if last["outcome"] == "failed":
        return "failed"
    if last["outcome"] == "abandoned":
        return "unfinished"
    calls = pd.to_numeric(pd.Series([last["tool_calls"]]), errors="coerce").fillna(0).iloc[0]
    if calls == 0:
        return "completed"
    return "step_limit" if last["step"] >= last["max_steps"] else "unfinished"


def workflow_fates(records: pd.DataFrame) -> pd.DataFrame:
    """One row per workflow (FATE_COLUMNS); `e2e` is t_end of its last step - t_send of its first."""
    rows = records[records["workflow"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=FATE_COLUMNS)
    rows = rows.assign(anchor=anchor_times(rows), step=pd.to_numeric(rows["step"], errors="coerce"),
                       max_steps=pd.to_numeric(rows["max_steps"], errors="coerce"))
    out = []
    for workflow, steps in rows.sort_values("step").groupby("workflow", sort=True):
        first, last = steps.iloc[0], steps.iloc[-1]
        e2e = pd.to_numeric(pd.Series([last["t_end"], first["t_send"]]), errors="coerce")
        out.append({
            "workflow": workflow, "start": first["anchor"], "steps": len(steps), "fate": _fate(last),
            "error_class": last["error_class"] if last["outcome"] == "failed" else None,
            "e2e": float(e2e.iloc[0] - e2e.iloc[1]),
        })
    return pd.DataFrame(out, columns=FATE_COLUMNS)


def workflows_in_window(fates: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The workflows that started in `[window.start, window.end)`."""
    start = pd.to_numeric(fates["start"], errors="coerce")
    return fates[(start >= window.start) & (start < window.end)]


def _judged(fates: pd.DataFrame) -> pd.DataFrame:
    return fates[fates["fate"] != "unfinished"]


def workflow_success_rate(fates: pd.DataFrame) -> float | None:
    """Formula: completed workflows (a final answer within max_steps, every step answered) / judged workflows
    (completed + failed + step_limit). Unit: ratio 0..1. Higher is better. None without a judged workflow."""
    judged = _judged(fates)
    return None if judged.empty else float((judged["fate"] == "completed").mean())


def workflow_steps(fates: pd.DataFrame) -> dict[str, float | int | None]:
    """Formula: requests sent per judged workflow (its steps, up to the failed one), p50..p99, mean, max.
    Unit: steps. Lower is cheaper."""
    sample = _judged(fates)["steps"].to_numpy(dtype=float)
    return {"n": int(sample.size), **latency_stats(sample)}


def workflow_e2e(fates: pd.DataFrame) -> dict[str, float | int | None]:
    """Formula: t_end of the last step - t_send of the first, over completed workflows, p50..p99, mean, max.
    Unit: seconds. Lower is better."""
    done = fates[fates["fate"] == "completed"]["e2e"].to_numpy(dtype=float)
    sample = done[~np.isnan(done)]
    return {"n": int(sample.size), **latency_stats(sample)}


def workflows_summary(fates: pd.DataFrame) -> WorkflowsSummary | None:
    """Counts by fate and the failed workflows by error class; None without workflows."""
    if fates.empty:
        return None
    count = fates["fate"].value_counts()
    failed = fates[fates["fate"] == "failed"]["error_class"].fillna("unknown").value_counts()
    failed_by = {str(k): int(v) for k, v in failed.items()}
    if count.get("step_limit", 0):
        failed_by["step_limit"] = int(count["step_limit"])
    return WorkflowsSummary(
        workflows=len(fates), completed=int(count.get("completed", 0)), failed=int(count.get("failed", 0)),
        step_limit=int(count.get("step_limit", 0)), unfinished=int(count.get("unfinished", 0)),
        failed_by=dict(sorted(failed_by.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
