"""The two input frames, normalised: every contract column present, whatever the caller had."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields

import pandas as pd

from brownout.rundata.records import RequestRecord
from brownout.rundata.probes import ProbeResult

__all__ = ["probe_frame", "request_frame"]

_REQUEST_COLUMNS = [f.name for f in fields(RequestRecord)]
_PROBE_COLUMNS = [f.name for f in fields(ProbeResult)]


def request_frame(records: pd.DataFrame | None) -> pd.DataFrame:
    """The records frame (`load_records()`), or an empty one with the `RequestRecord` columns."""
    if records is None or not set(_REQUEST_COLUMNS) <= set(records.columns):
        return pd.DataFrame(records, columns=_REQUEST_COLUMNS)
    return records


def probe_frame(probes: pd.DataFrame | Iterable[ProbeResult] | None) -> pd.DataFrame:
    """Probe runs as a frame with the `ProbeResult` columns, given as a frame, a list or nothing."""
    if isinstance(probes, pd.DataFrame):
        return probes if set(_PROBE_COLUMNS) <= set(probes.columns) else pd.DataFrame(probes, columns=_PROBE_COLUMNS)
    return pd.DataFrame([p.to_dict() for p in probes or []], columns=_PROBE_COLUMNS)
