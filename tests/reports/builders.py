"""Small builders for hand-computed scoring cases: specs, request rows, timelines."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pandas as pd

from brownout.spec import Experiment
from brownout.rundata.timeline import FaultWindow, PhaseWindow, Timeline
from brownout.rundata.records import RequestRecord
from brownout.rundata.probes import ProbeResult

T0 = 1_700_000_000.0
"""Run start on the run clock; every case places its marks relative to it."""

COLUMNS = [f.name for f in fields(RequestRecord)]


def spec(**over: Any) -> Experiment:
    doc: dict[str, Any] = {
        "apiVersion": "brownout/v1",
        "kind": "Experiment",
        "metadata": {"name": "unit"},
        "target": {"sandbox": {}},
        "load": {"arrival": {"kind": "constant", "rate": "5/s"}},
        "phases": {"warmup": 0, "baseline": 10, "fault": 10, "recovery": 10},
    }
    doc.update(over)
    return Experiment.model_validate(doc)


def req(t: float, *, outcome: str = "ok", ttft: float | None = 0.1, e2e: float | None = 1.0, tokens: int | None = 10,
        itl: list[float] | None = None, sched: bool = True, lag: float = 0.0, error_class: str | None = None,
        status: int | None = None, region: str | None = None, served_by: str | None = None,
        tpot_span: float | None = None, sent: bool = True, model: str | None = None) -> dict[str, Any]:
    """One request anchored at T0 + t: sent `lag` after its schedule, first token `ttft` after send.

    An `abandoned` one keeps its first token and gaps but never ends (the harness gave up mid-stream).
    """
    t_sched = T0 + t if sched else None
    t_send = (T0 + t + lag) if sent else None
    failed = outcome == "failed"
    abandoned = outcome == "abandoned"
    t_first = None if failed or ttft is None or t_send is None else t_send + ttft
    t_last = None if t_first is None else t_first + (tpot_span if tpot_span is not None else 0.0)
    t_end = None if t_send is None or e2e is None or abandoned else t_send + e2e
    return dict(
        request_id=f"r{t}", kind="chat", worker="w0", t_sched=t_sched, t_send=t_send, t_headers=None,
        t_first=t_first, t_last=t_last, t_end=t_end, itl=list(itl or []), input_tokens=5,
        output_tokens=None if failed or abandoned else tokens, token_source="usage",
        status=status if status is not None else (None if failed or abandoned else 200), outcome=outcome,
        error_class=error_class if error_class or not failed else "http_5xx", error=None,
        degraded_reason=None, model=model, served_by=served_by, region=region, session=None,
    )


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def probes(rows: list[ProbeResult]) -> pd.DataFrame:
    return pd.DataFrame([r.to_dict() for r in rows], columns=[f.name for f in fields(ProbeResult)])


def timeline(baseline: float = 10, fault: float = 10, recovery: float = 10, *,
             faults: list[FaultWindow] | None = None) -> Timeline:
    """Phases back to back from T0: baseline, fault, recovery (seconds)."""
    b_end = T0 + baseline
    f_end = b_end + fault
    r_end = f_end + recovery
    return Timeline(
        run_start=T0,
        run_end=r_end,
        phases=[PhaseWindow("baseline", T0, b_end), PhaseWindow("fault", b_end, f_end), PhaseWindow("recovery", f_end, r_end)],
        faults=list(faults or []),
    )
