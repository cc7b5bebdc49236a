"""Load generator bench: timing accuracy, throughput and CPU cost, open-loop fidelity, worker capacity, memory.

Not a test: every figure runs REPEATS times and prints min / median / max next to its goal, with the
machine's load (load average, CPU pressure) before each, so a noisy run shows itself. Loopback only.

    .venv/bin/python bench/loadgen.py --all          # every section, ~6 min on 2 cores; ends with README rows
    .venv/bin/python bench/loadgen.py [--quick] accuracy throughput cost open_loop capacity sse_cpu memory

Accuracy compares the client's marks with the ground-truth server's on one axis: the server logs
time.monotonic() when its handler starts (`recv`) and when the write of the first token returns
(`first`); the load process reuses this process's RunClock anchor, and CLOCK_MONOTONIC is
system-wide, so the two are compared directly. The server is pinned to the first core, the load
process (and its workers) to the others.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from brownout.loadgen import LoadPlan, start_load
from brownout.loadgen.progress import Collector
from brownout.processes import free_port, wait_port
from brownout.rundata.clock import RunClock
from brownout.rundata.records import RecordWriter, RequestRecord, load_records
from brownout.spec.load import Load
from brownout.spec.objectives import OutcomeRules

SERVER = Path(__file__).resolve().parents[1] / "tests" / "loadgen" / "fake_llm.py"
HOSTILE = SERVER.with_name("hostile.py")
TTFT_MS = 50        # the ground-truth server's time to first token in the accuracy runs
REPEATS = 3
LAG_GOAL_MS = 5.0   # open-loop schedule lag p99 goal, and the bar of the capacity search
Figures = dict[str, float]


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _mean(values):
    return sum(values) / len(values) if values else float("nan")


def machine_load() -> str:
    """`load 1.23/2 cores, CPU pressure 4.5% (avg10)`; PSI left out where the kernel has none."""
    cores = os.cpu_count() or 1
    text = f"load {os.getloadavg()[0]:.2f}/{cores} cores"
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
        text += f", CPU pressure {dict(p.split('=') for p in some[1:])['avg10']}% (avg10)"
    except (OSError, IndexError, KeyError, ValueError):
        pass
    return text


class Report:
    """Collects every figure's runs and prints min / median / max; `medians` feed the README rows."""

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.medians: dict[str, float] = {}

    def figure(self, title: str, run: Callable[[], Figures], goals: dict[str, str]) -> Figures:
        print(f"\n{title}")
        runs = []
        for i in range(self.repeats):
            print(f"  run {i + 1}/{self.repeats}: {machine_load()}", flush=True)
            runs.append(run())
        medians = {}
        for name in runs[0]:
            values = [r[name] for r in runs]
            medians[name] = statistics.median(values)
            print(f"  {name:<34} min {min(values):>12,.3f}  median {medians[name]:>12,.3f}  max {max(values):>12,.3f}"
                  + (f"   goal {goals[name]}" if name in goals else ""))
        self.medians.update({f"{title}: {k}": v for k, v in medians.items()})
        return medians


@contextmanager
def _pinned(cpus: set[int]):
    """Processes spawned inside inherit these CPUs (all their threads too); no-op on one core."""
    before = os.sched_getaffinity(0)
    if len(before) > 1:
        os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _cores() -> tuple[set[int], set[int]]:
    """(server core, load cores): the first core for the server, the rest for the load."""
    cores = sorted(os.sched_getaffinity(0))
    return {cores[0]}, set(cores[1:]) or {cores[0]}


def _serve(truth: Path | None = None, server: Path = SERVER):
    port = free_port()
    args = [sys.executable, str(server), str(port)] + ([str(truth)] if truth else [])
    with _pinned(_cores()[0]):
        proc = subprocess.Popen(args)
    assert wait_port("127.0.0.1", port, 15)
    return proc, f"http://127.0.0.1:{port}"


def _load(url, out, load, headers, duration, lead=3.0, clock=None):
    """Run one load to its end: (plan, records, load-process CPU seconds while it sent).

    The CPU is the load process's own measure (status `cpu_share`, the busiest worker's CPU per wall second
    from its first arrival to its last) times the load's length: Locust's import and start-up (about 2 CPU-s)
    would otherwise dominate a short run's per-request and per-chunk cost."""
    clock = clock or RunClock()
    start = clock.now() + lead
    plan = LoadPlan(url, Load.model_validate(load), "fake-model", OutcomeRules(), start, start + duration, out, out, headers,
                    clock_anchor=clock.anchor)
    with _pinned(_cores()[1]):
        run = start_load(plan)
    run.proc.returncode = run.proc.wait()
    progress = run.progress()
    share = progress.cpu_share if progress is not None and progress.cpu_share is not None else float("nan")
    return plan, load_records(run.record_paths()), share * duration


class Bench:
    def __init__(self, tmp: Path, report: Report, quick: bool) -> None:
        self.tmp, self.report, self.quick = tmp, report, quick
        self.runs = 0

    def out(self, name: str) -> Path:
        self.runs += 1
        return self.tmp / f"{name}-{self.runs}"

    def accuracy(self, streams: int, goal_mean: float, goal_p99: float) -> None:
        duration = 3 if self.quick else 5

        def once() -> Figures:
            truth = self.out(f"truth{streams}")
            clock = RunClock()
            srv, url = _serve(truth)
            try:
                headers = {"x-fake-ttft-ms": str(TTFT_MS), "x-fake-itl-ms": "10", "x-fake-tokens": "40"}
                load = {"arrival": {"kind": "concurrency", "users": streams}, "max_in_flight": max(256, streams)}
                _, df, _ = _load(url, self.out(f"acc{streams}"), load, headers, duration, clock=clock)
            finally:
                srv.terminate(); srv.wait()
            true = {row["id"]: row for row in map(json.loads, truth.read_text().splitlines())}
            ttft_err, first_lag, send_lead, itl_err = [], [], [], []  # ms, signed
            for rec in df[df.outcome == "ok"].itertuples():
                t = true.get(rec.request_id)
                if t is None or len(t["itl"]) != len(rec.itl):
                    continue
                ttft_err.append(((rec.t_first - rec.t_send) - t["ttft"]) * 1000)
                first_lag.append((rec.t_first - clock.from_monotonic(t["first"])) * 1000)
                send_lead.append((clock.from_monotonic(t["recv"]) - rec.t_send) * 1000)
                itl_err.extend((a - b) * 1000 for a, b in zip(rec.itl, t["itl"]))
            size = [abs(e) for e in ttft_err]
            return {"streams compared": len(ttft_err), "TTFT |error| mean ms": _mean(size),
                    "TTFT |error| p99 ms": _pct(size, .99), "ITL |error| mean ms": _mean([abs(e) for e in itl_err]),
                    "ITL |error| p99 ms": _pct([abs(e) for e in itl_err], .99),
                    # where the TTFT error comes from: the send leg (client mark -> server handler) and the
                    # first-token leg (server write -> client mark)
                    "send leg p99 ms": _pct(send_lead, .99), "first-token leg p99 ms": _pct(first_lag, .99)}

        self.report.figure(f"accuracy at {streams} concurrent streams (server truth on the same monotonic clock)", once,
                           {"TTFT |error| mean ms": f"<= {goal_mean:g}", "TTFT |error| p99 ms": f"<= {goal_p99:g}",
                            "ITL |error| mean ms": "<= 1", "ITL |error| p99 ms": "<= 3"})

    def throughput(self) -> None:
        """SSE chunks parsed per CPU second of the load process: 4 streams of 2000 tokens, back to back."""
        duration = 3 if self.quick else 4

        def once() -> Figures:
            srv, url = _serve()
            try:
                load = {"arrival": {"kind": "concurrency", "users": 4}, "drain": "1s"}
                _, df, cpu = _load(url, self.out("thr"), load, {"x-fake-tokens": "2000"}, duration)
            finally:
                srv.terminate(); srv.wait()
            chunks = int(df.output_tokens.fillna(0).sum())
            return {"chunks": chunks, "load CPU s": cpu, "chunks/s per load core": chunks / cpu,
                    "CPU us per chunk": cpu / chunks * 1e6}

        self.report.figure("throughput: SSE chunks per load-process core", once,
                           {"chunks/s per load core": ">= 100,000"})

    def cost(self) -> None:
        """CPU per request of the load process: open loop, 1-token responses, 400/s (start-up cost included)."""
        duration, rate = (3, 400) if self.quick else (5, 400)

        def once() -> Figures:
            srv, url = _serve()
            try:
                load = {"arrival": {"kind": "constant", "rate": f"{rate}/s"}, "max_in_flight": 2000, "drain": "1s"}
                _, df, cpu = _load(url, self.out("cost"), load, {"x-fake-tokens": "1"}, duration)
            finally:
                srv.terminate(); srv.wait()
            sent = int(df.t_send.notna().sum())
            return {"requests": sent, "load CPU s": cpu, "CPU us per request": cpu / sent * 1e6}

        self.report.figure(f"cost: load-process CPU per request (open loop {rate}/s, 1-token answers)", once, {})

    def _open(self, rate: int, workers: int, duration: float, tokens: int = 1) -> Figures:
        srv, url = _serve()
        try:
            load = {"arrival": {"kind": "constant", "rate": f"{rate}/s"}, "max_in_flight": 4000, "workers": workers}
            _, df, cpu = _load(url, self.out(f"open{rate}x{workers}"), load, {"x-fake-tokens": str(tokens)}, duration,
                               lead=3.0 + workers)
        finally:
            srv.terminate(); srv.wait()
        sent = df[df.t_send.notna()]
        lag = ((sent.t_send - sent.t_sched) * 1000).tolist()
        return {"achieved req/s": len(sent) / duration, "schedule lag p99 ms": _pct(lag, .99),
                "dropped": int((df.error_class == "dropped").sum()),
                "chunks/s": float(sent.output_tokens.fillna(0).sum()) / duration, "load CPU s": cpu}

    def open_loop(self, rates: tuple[int, ...]) -> None:
        duration = 3
        for rate in rates:
            self.report.figure(f"open loop {rate}/s, one worker", lambda rate=rate: self._open(rate, 1, duration),
                               {"achieved req/s": f"{rate} within 1%", "schedule lag p99 ms": f"<= {LAG_GOAL_MS:g}",
                                "dropped": "0"})

    def capacity(self, ladder: tuple[int, ...]) -> None:
        """Per-worker capacity: the highest rate of the ladder whose run kept lag p99 <= 5 ms, nothing dropped
        and the rate within 1%, for 1 and 2 workers (10-token answers). One search each (not repeated: it is
        a staircase of runs); the cores the load may use bound what 2 workers can add."""
        duration = 3
        print(f"\ncapacity at schedule lag p99 <= {LAG_GOAL_MS:g} ms (10-token answers); load cores: "
              f"{len(_cores()[1])}; {machine_load()}")
        for workers in (1, 2):
            held: Figures | None = None
            for rate in ladder:
                got = self._open(rate, workers, duration, tokens=10)
                ok = (got["schedule lag p99 ms"] <= LAG_GOAL_MS and not got["dropped"]
                      and abs(got["achieved req/s"] / rate - 1) <= 0.01)
                print(f"  {workers} worker(s) at {rate}/s: lag p99 {got['schedule lag p99 ms']:.2f} ms, dropped "
                      f"{got['dropped']}, achieved {got['achieved req/s']:.1f}/s -> {'held' if ok else 'not held'}",
                      flush=True)
                if not ok:
                    break
                held = {**got, "rate": rate}
            if held is None:
                print(f"  {workers} worker(s): no rate of the ladder held")
                continue
            print(f"  {workers} worker(s) hold {held['rate']} req/s = {held['chunks/s']:,.0f} chunks/s")
            self.report.medians[f"capacity: {workers} worker(s) req/s"] = held["rate"]
            self.report.medians[f"capacity: {workers} worker(s) chunks/s"] = held["chunks/s"]

    def sse_cpu(self, sizes: tuple[int, ...]) -> None:
        """Load-process CPU per MiB of SSE when each response is one event of `size` MiB (flat: linear reads).

        CPU per MiB is the slope over a baseline run of tiny responses (Locust's start-up and idle cost).
        """
        duration = 3

        def run(name: str, headers: dict[str, str], url: str):
            load = {"arrival": {"kind": "concurrency", "users": 1}, "drain": "1s", "max_event_size": "64MiB",
                    "timeout": "60s"}
            _, df, cpu = _load(url, self.out(name), load, headers, duration)
            return int((df.outcome == "ok").sum()), cpu

        def once() -> Figures:
            srv, url = _serve(server=HOSTILE)
            try:
                _, base_cpu = run("sse-base", {"x-hostile-modes": "ok"}, url)
                figures = {}
                for size in sizes:
                    ok, cpu = run(f"sse-{size}", {"x-hostile-modes": "huge", "x-hostile-mib": str(size)}, url)
                    figures[f"{size} MiB events: ms CPU per MiB"] = (cpu - base_cpu) / (ok * size) * 1000 if ok else float("nan")
                return figures
            finally:
                srv.terminate(); srv.wait()

        self.report.figure("huge SSE events: load-process CPU per MiB (flat = linear in bytes)", once, {})

    def memory(self, n: int) -> None:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with RecordWriter(self.tmp / "mem.jsonl") as writer:
            col = Collector(writer, 100.0, 1)
            for i in range(n):
                t = i / 100.0
                col.add(RequestRecord(f"w0-{i}", "chat", "w0", t, t, t_first=t + 0.05, t_last=t + 0.5, t_end=t + 0.5,
                                      itl=[0.01] * 40, output_tokens=40, token_source="usage", outcome="ok"))
                if i % 50 == 0:
                    col.snapshot(t, "running")
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\ncollector: {n:,} records, max RSS {after:.0f} MB (grew {after - before:.0f} MB; goal < 300 MB)")
        self.report.medians["collector: max RSS MB"] = after


def readme_rows(report: Report, command: str, took: float) -> None:
    """The figures as `key = median` lines to paste into README's Performance section, with date and command."""
    print(f"\n# README figures (medians of {report.repeats} run(s)), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, `{command}` ({took / 60:.1f} min), ended at {machine_load()}")
    for key, value in report.medians.items():
        print(f"  {key} = {value:,.3f}")


SECTIONS = ("accuracy", "throughput", "cost", "open_loop", "capacity", "sse_cpu", "memory")


def main() -> None:
    """`bench/loadgen.py [--quick] [--all | SECTION ...]`; no section named: all of them."""
    quick = "--quick" in sys.argv
    only = {a for a in sys.argv[1:] if not a.startswith("--")}
    unknown = only - set(SECTIONS)
    if unknown:
        sys.exit(f"unknown section(s) {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    wanted = set(SECTIONS) if not only or "--all" in sys.argv else only
    report = Report(1 if quick else REPEATS)
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        bench = Bench(Path(d), report, quick)
        if "accuracy" in wanted:
            bench.accuracy(20, 1, 3)
            bench.accuracy(200, 2, 10)
        if "throughput" in wanted:
            bench.throughput()
        if "cost" in wanted:
            bench.cost()
        if "open_loop" in wanted:
            bench.open_loop((500,) if quick else (100, 300, 500, 700))
        if "capacity" in wanted:
            bench.capacity((250, 500, 1000) if quick else (250, 500, 750, 1000, 1500, 2000))
        if "sse_cpu" in wanted:
            bench.sse_cpu((1, 5) if quick else (1, 20))
        if "memory" in wanted:
            bench.memory(100_000 if quick else 1_000_000)
    readme_rows(report, "python bench/loadgen.py " + " ".join(sys.argv[1:]), time.monotonic() - began)


if __name__ == "__main__":
    main()
