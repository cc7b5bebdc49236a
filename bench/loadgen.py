"""Load generator bench: timing accuracy, throughput, open-loop fidelity, collector memory.

Not a test: prints each figure next to its goal. Loopback only. Run:
    .venv/bin/python bench/loadgen.py [--quick]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from brownout.experiments.spec.load import Load
from brownout.experiments.spec.objectives import OutcomeRules
from brownout.loadgen import (
    LoadPlan,
    RecordWriter,
    RequestRecord,
    RunClock,
    load_records,
    start_load,
)
from brownout.loadgen.progress import Collector
from brownout.processes import free_port, wait_port

SERVER = Path(__file__).resolve().parents[1] / "tests" / "loadgen" / "fake_llm.py"


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _serve(truth: Path | None = None):
    port = free_port()
    args = [sys.executable, str(SERVER), str(port)] + ([str(truth)] if truth else [])
    proc = subprocess.Popen(args)
    assert wait_port("127.0.0.1", port, 15)
    return proc, f"http://127.0.0.1:{port}"


def _load(url, out, load, headers, duration, lead=2.5):
    start = RunClock().now() + lead
    plan = LoadPlan(url, Load.model_validate(load), "fake-model", OutcomeRules(), start, start + duration, out, out, headers)
    run = start_load(plan)
    _, status, usage = os.wait4(run.pid, 0)
    run.proc.returncode = os.waitstatus_to_exitcode(status)
    return plan, load_records(run.record_paths()), usage.ru_utime + usage.ru_stime


def accuracy(tmp: Path, duration: float) -> None:
    truth = tmp / "truth.jsonl"
    srv, url = _serve(truth)
    try:
        headers = {"x-fake-ttft-ms": "50", "x-fake-itl-ms": "10", "x-fake-tokens": "40"}
        _, df, _ = _load(url, tmp / "acc", {"arrival": {"kind": "concurrency", "users": 20}}, headers, duration)
    finally:
        srv.terminate(); srv.wait()
    true = {row["id"]: row for row in map(json.loads, truth.read_text().splitlines())}
    ttft_err, itl_err = [], []
    for rec in df[df.outcome == "ok"].itertuples():
        t = true.get(rec.request_id)
        if t is None or len(t["itl"]) != len(rec.itl):
            continue
        ttft_err.append(abs((rec.t_first - rec.t_send) - t["ttft"]) * 1000)
        itl_err.extend(abs(a - b) * 1000 for a, b in zip(rec.itl, t["itl"]))
    print(f"accuracy over {len(ttft_err)} streams at 20 concurrent (server-side truth):")
    print(f"  TTFT |error| mean {sum(ttft_err) / max(1, len(ttft_err)):.3f} ms (goal <= 1)   p99 {_pct(ttft_err, .99):.3f} ms (goal <= 3)")
    print(f"  ITL  |error| mean {sum(itl_err) / max(1, len(itl_err)):.3f} ms (goal <= 1)   p99 {_pct(itl_err, .99):.3f} ms (goal <= 3)")


def throughput(tmp: Path, duration: float) -> None:
    srv, url = _serve()
    try:
        headers = {"x-fake-tokens": "2000"}
        _, df, cpu = _load(url, tmp / "thr", {"arrival": {"kind": "concurrency", "users": 4}, "drain": "1s"}, headers, duration)
    finally:
        srv.terminate(); srv.wait()
    chunks = int(df.output_tokens.fillna(0).sum())
    print(f"throughput: {chunks} chunks, load process CPU {cpu:.2f} s -> {chunks / cpu:,.0f} chunks/s/core (goal >= 80,000)")


def open_loop(tmp: Path, duration: float, rate: int) -> None:
    srv, url = _serve()
    try:
        load = {"arrival": {"kind": "constant", "rate": f"{rate}/s"}, "max_in_flight": 2000}
        _, df, _ = _load(url, tmp / "open", load, {"x-fake-tokens": "1"}, duration)
    finally:
        srv.terminate(); srv.wait()
    sent = df[df.t_send.notna()]
    achieved = len(sent) / duration
    lag = ((sent.t_send - sent.t_sched) * 1000).tolist()
    print(f"open loop {rate}/s: achieved {achieved:.1f}/s ({(achieved / rate - 1) * 100:+.2f}%, goal within 1%), "
          f"schedule_lag p99 {_pct(lag, .99):.2f} ms (goal <= 5), dropped {int((df.error_class == 'dropped').sum())}")


def collector_memory(tmp: Path, n: int) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with RecordWriter(tmp / "mem.jsonl") as writer:
        col = Collector(writer, 100.0, 1)
        for i in range(n):
            t = i / 100.0
            col.add(RequestRecord(f"w0-{i}", "chat", "w0", t, t, t_first=t + 0.05, t_last=t + 0.5, t_end=t + 0.5,
                                  itl=[0.01] * 40, output_tokens=40, token_source="usage", outcome="ok"))
            if i % 50 == 0:
                col.snapshot(t, "running")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"collector: {n:,} records, max RSS {after:.0f} MB (grew {after - before:.0f} MB; goal < 300 MB)")


def main() -> None:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        accuracy(tmp, 3 if quick else 8)
        throughput(tmp, 3 if quick else 6)
        open_loop(tmp, 3 if quick else 6, 500)
        collector_memory(tmp, 100_000 if quick else 1_000_000)


if __name__ == "__main__":
    main()
