"""Load generator bench: timing accuracy, throughput, huge-event CPU, open-loop fidelity, collector memory.

Not a test: prints each figure next to its goal. Loopback only. Run:
    .venv/bin/python bench/loadgen.py [--quick]

Accuracy compares the client's marks with the ground-truth server's on one
axis: the server logs time.monotonic() when its handler starts (`recv`) and when
the write of the first token returns (`first`); the load process reuses this
process's RunClock anchor, and CLOCK_MONOTONIC is system-wide, so the two are
compared directly. Server and load process are pinned to separate cores.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from brownout.spec.load import Load
from brownout.spec.objectives import OutcomeRules
from brownout.loadgen import LoadPlan, start_load
from brownout.rundata.clock import RunClock
from brownout.rundata.records import RecordWriter, RequestRecord, load_records
from brownout.loadgen.progress import Collector
from brownout.processes import free_port, wait_port

SERVER = Path(__file__).resolve().parents[1] / "tests" / "loadgen" / "fake_llm.py"
HOSTILE = SERVER.with_name("hostile.py")
TTFT_MS = 50  # the ground-truth server's time to first token in the accuracy runs


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _mean(values):
    return sum(values) / len(values) if values else float("nan")


@contextmanager
def _pinned(cpu: int):
    """Processes spawned inside inherit this CPU (all their threads too); no-op on one core."""
    before = os.sched_getaffinity(0)
    if len(before) > 1:
        os.sched_setaffinity(0, {sorted(before)[cpu % len(before)]})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _serve(truth: Path | None = None, server: Path = SERVER):
    port = free_port()
    args = [sys.executable, str(server), str(port)] + ([str(truth)] if truth else [])
    with _pinned(0):
        proc = subprocess.Popen(args)
    assert wait_port("127.0.0.1", port, 15)
    return proc, f"http://127.0.0.1:{port}"


def _load(url, out, load, headers, duration, lead=2.5, clock=None):
    clock = clock or RunClock()
    start = clock.now() + lead
    plan = LoadPlan(url, Load.model_validate(load), "fake-model", OutcomeRules(), start, start + duration, out, out, headers,
                    clock_anchor=clock.anchor)
    with _pinned(1):
        run = start_load(plan)
    _, status, usage = os.wait4(run.pid, 0)
    run.proc.returncode = os.waitstatus_to_exitcode(status)
    return plan, load_records(run.record_paths()), usage.ru_utime + usage.ru_stime


def accuracy(tmp: Path, duration: float, streams: int, goal_mean: float, goal_p99: float) -> None:
    truth = tmp / f"truth{streams}.jsonl"
    clock = RunClock()
    srv, url = _serve(truth)
    try:
        headers = {"x-fake-ttft-ms": str(TTFT_MS), "x-fake-itl-ms": "10", "x-fake-tokens": "40"}
        load = {"arrival": {"kind": "concurrency", "users": streams}, "max_in_flight": max(256, streams)}
        _, df, _ = _load(url, tmp / f"acc{streams}", load, headers, duration, clock=clock)
    finally:
        srv.terminate(); srv.wait()
    true = {row["id"]: row for row in map(json.loads, truth.read_text().splitlines())}
    ttft_err, first_lag, send_lead, itl_err, overshoot = [], [], [], [], []  # ms, signed
    for rec in df[df.outcome == "ok"].itertuples():
        t = true.get(rec.request_id)
        if t is None or len(t["itl"]) != len(rec.itl):
            continue
        ttft_err.append(((rec.t_first - rec.t_send) - t["ttft"]) * 1000)
        first_lag.append((rec.t_first - clock.from_monotonic(t["first"])) * 1000)
        send_lead.append((clock.from_monotonic(t["recv"]) - rec.t_send) * 1000)
        itl_err.extend((a - b) * 1000 for a, b in zip(rec.itl, t["itl"]))
        overshoot.append((t["ttft"] - TTFT_MS / 1000) * 1000)
    print(f"accuracy over {len(ttft_err)} streams at {streams} concurrent (server truth on the same monotonic clock):")
    for name, errors in (("TTFT", ttft_err), ("ITL ", itl_err)):
        size = [abs(e) for e in errors]
        print(f"  {name} |error| mean {_mean(size):.3f} ms (goal <= {goal_mean:g})   p99 {_pct(size, .99):.3f} ms "
              f"(goal <= {goal_p99:g})   signed mean {_mean(errors):+.3f} ms")
    print(f"  where TTFT error comes from: client t_send -> server handler start {_mean(send_lead):+.3f} ms mean "
          f"(p99 {_pct(send_lead, .99):.3f}); server first write -> client t_first {_mean(first_lag):+.3f} ms mean "
          f"(p99 {_pct(first_lag, .99):.3f})")
    print(f"  server event-loop lag (first token written after its {TTFT_MS} ms due time): {_mean(overshoot):+.3f} ms mean "
          f"(p99 {_pct(overshoot, .99):.3f})")


def throughput(tmp: Path, duration: float) -> None:
    srv, url = _serve()
    try:
        headers = {"x-fake-tokens": "2000"}
        _, df, cpu = _load(url, tmp / "thr", {"arrival": {"kind": "concurrency", "users": 4}, "drain": "1s"}, headers, duration)
    finally:
        srv.terminate(); srv.wait()
    chunks = int(df.output_tokens.fillna(0).sum())
    print(f"throughput: {chunks} chunks, load process CPU {cpu:.2f} s -> {chunks / cpu:,.0f} chunks/s/core (goal >= 80,000)")


def sse_cpu(tmp: Path, duration: float, sizes: tuple[int, ...]) -> None:
    """Load-process CPU per MiB of SSE when each response is one event of `size` MiB (it must stay flat: linear reads).

    CPU per MiB is the slope over a baseline run of tiny responses (Locust's start-up and idle cost).
    """
    srv, url = _serve(server=HOSTILE)
    try:
        def run(name: str, headers: dict[str, str]):
            load = {"arrival": {"kind": "concurrency", "users": 1}, "drain": "1s", "max_event_size": "64MiB",
                    "timeout": "60s"}
            _, df, cpu = _load(url, tmp / name, load, headers, duration)
            return int((df.outcome == "ok").sum()), len(df), cpu

        _, base_n, base_cpu = run("sse-base", {"x-hostile-modes": "ok"})
        print(f"huge SSE events: baseline (5-token responses) {base_n} requests, load process CPU {base_cpu:.2f} s")
        for size in sizes:
            ok, n, cpu = run(f"sse-{size}", {"x-hostile-modes": "huge", "x-hostile-mib": str(size)})
            mib = ok * size
            per = (cpu - base_cpu) / mib if mib else float("nan")
            print(f"  {size:>3} MiB events: {ok}/{n} ok, {mib} MiB, CPU {cpu:.2f} s -> {per * 1000:.1f} ms CPU per MiB "
                  f"({mib / max(cpu - base_cpu, 1e-9):.0f} MiB/s/core)")
    finally:
        srv.terminate(); srv.wait()


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
    """`bench/loadgen.py [--quick] [accuracy|throughput|sse_cpu|open_loop|memory ...]`: named sections only, else all."""
    quick = "--quick" in sys.argv
    only = {a for a in sys.argv[1:] if not a.startswith("--")}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not only or "accuracy" in only:
            accuracy(tmp, 3 if quick else 8, 20, 1, 3)
            if not quick:
                accuracy(tmp, 8, 200, 2, 10)
        if not only or "throughput" in only:
            throughput(tmp, 3 if quick else 6)
        if not only or "sse_cpu" in only:
            sse_cpu(tmp, 3 if quick else 5, (1, 5, 20) if quick else (1, 2, 5, 10, 20, 40))
        if not only or "open_loop" in only:
            open_loop(tmp, 3 if quick else 6, 500)
        if not only or "memory" in only:
            collector_memory(tmp, 100_000 if quick else 1_000_000)


if __name__ == "__main__":
    main()
