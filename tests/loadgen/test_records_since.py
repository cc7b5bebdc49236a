"""The guards' view of the load's records: what finished since t, cheap to ask ten times a second."""

from __future__ import annotations

import json

from brownout.loadgen.control import LoadRun
from brownout.loadgen.plan import RECORDS_FILE


def _append(path, ends):
    with path.open("a", encoding="utf-8") as fh:
        for i, end in ends:
            fh.write(json.dumps({"request_id": f"r{i}", "t_end": end}) + "\n")


def test_records_since_reads_new_lines_and_keeps_them_in_t_end_order(tmp_path):
    run = LoadRun(None, tmp_path)  # only the files are read: no process needed
    assert run.records_since(0.0) == []
    _append(tmp_path / RECORDS_FILE, [(0, 1.0), (1, 3.0), (2, 2.0)])  # a worker's batch arrives late: out of order
    assert [r["request_id"] for r in run.records_since(2.5)] == ["r1"]
    _append(tmp_path / RECORDS_FILE, [(3, 5.0), (4, 2.5), (5, None)])  # a record without t_end sorts as 0
    assert [r["t_end"] for r in run.records_since(2.0)] == [2.0, 2.5, 3.0, 5.0]
    assert [r["request_id"] for r in run.records_since(-1.0)] == ["r5", "r0", "r2", "r4", "r1", "r3"]
    assert run.records_since(6.0) == []
