"""Synthetic probe metrics over the probe-results frame (columns of `ProbeResult`)."""

from __future__ import annotations

import pandas as pd

from brownout.reports.metrics.latency import percentile
from brownout.reports.models import ProbeSummary

__all__ = ["probe_success_rate", "probe_summaries"]


def probe_success_rate(probes: pd.DataFrame, probe: str) -> float | None:
    """Formula: passing runs / runs of `probe` in the window. Unit: ratio 0..1. Higher is better. None without runs."""
    runs = probes[probes["probe"] == probe]
    return None if runs.empty else float(runs["ok"].astype(bool).mean())


def probe_summaries(probes: pd.DataFrame) -> list[ProbeSummary]:
    """Per probe: runs, passes, success rate, p95 latency of answered runs, the last failure reason."""
    out = []
    for name, runs in probes.sort_values("t").groupby("probe", sort=True):
        ok = runs["ok"].astype(bool)
        latency = pd.to_numeric(runs["latency"], errors="coerce").dropna().to_numpy(dtype=float)
        failures = runs[~ok]
        out.append(ProbeSummary(
            probe=str(name),
            kind=str(runs["kind"].iloc[0]),
            runs=len(runs),
            ok=int(ok.sum()),
            success_rate=float(ok.mean()),
            latency_p95=percentile(latency, 95),
            last_failure=None if failures.empty else str(failures["reason"].iloc[-1]),
        ))
    return out
