"""The raw per-request records as one compressed CSV, for analysis outside brownout (pandas, a notebook, a sheet).

One row per request with every `RequestRecord` column; `itl` (a list of gaps)
is a JSON array in its cell. The gzip header carries no timestamp, so the same
records always give the same bytes (re-rendering is reproducible).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from brownout.rundata.records import load_records

__all__ = ["read_records_csv", "records_frame", "write_records_csv"]


def records_frame(paths: Iterable[str | Path], base: Path | None = None) -> pd.DataFrame | None:
    """The records of the JSON-lines files that still exist (relative paths under `base`, the run folder);
    None when none does (results moved elsewhere)."""
    resolved = [Path(p) if base is None or Path(p).is_absolute() else Path(base) / p for p in paths]
    present = [p for p in resolved if p.is_file()]
    return load_records(present) if present else None


def write_records_csv(records: pd.DataFrame, path: Path) -> Path:
    path = Path(path)
    frame = records.copy()
    frame["itl"] = [json.dumps(list(v)) if isinstance(v, (list, tuple)) else "[]" for v in frame["itl"]]
    frame.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
    return path


def read_records_csv(path: Path) -> pd.DataFrame:
    """The inverse of `write_records_csv`: `itl` back to lists of floats."""
    frame = pd.read_csv(path, compression="gzip")
    frame["itl"] = [json.loads(v) for v in frame["itl"]]
    return frame
