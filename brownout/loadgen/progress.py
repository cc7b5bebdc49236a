"""Live progress of a load run: the collector's counters and the status file the runner polls.

The collector sees every record exactly once (in the local runner or the
master), writes it to the records file and keeps only counters and a few
seconds of samples, so memory stays flat over hour-long runs.
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from brownout.loadgen.health import LoopHealth, worst_health
from brownout.rundata.records import RecordWriter, RequestRecord

__all__ = ["Collector", "LoadProgress", "LoadState", "read_progress", "write_progress"]

LoadState = Literal["starting", "waiting", "running", "draining", "done"]
RECENT = 5.0  # seconds of history behind ttft_p95


@dataclass(frozen=True)
class LoadProgress:
    t: float                       # run-clock time of this snapshot
    state: LoadState
    target_rate: float | None      # open loop: requested requests/s; closed loop: None
    achieved_rate: float           # requests sent per second over the run so far (since start_at)
    in_flight: int
    sent: int
    ok: int
    degraded: int
    failed: int                    # including dropped
    dropped: int                   # never sent on time because of the harness's limits (not the target's)
    abandoned: int                 # given up by the harness (drain expired, stop): not the target's failures
    ttft_p95: float | None         # seconds, over requests finished in the last ~5 s
    workers: int
    master: str | None = None      # HOST:PORT of the Locust master when there are several workers
    connected: int = 0             # workers connected to the master so far
    cpu_share: float | None = None     # busiest load process: CPU seconds per wall second since its load started
    loop_lag_p99: float | None = None  # worst worker's event-loop wake-up lag p99, seconds (harness self-check)
    loop_lag_max: float | None = None
    ready_at: float | None = None      # when the last worker was ready to send; after start_at, its first arrivals went late
    dropped_backlog: int = 0           # of `dropped`: the load generator's own backlog (harness saturation)
    lost_workers: list[str] = field(default_factory=list)  # workers the master stopped hearing from (harness failure)

    @property
    def records(self) -> int:
        return self.ok + self.degraded + self.failed + self.abandoned

    def line(self) -> str:
        """One human line for the live progress log."""
        target = f"/{self.target_rate:.1f}" if self.target_rate is not None else ""
        ttft = f"{self.ttft_p95 * 1000:.0f}ms" if self.ttft_p95 is not None else "-"
        return (
            f"{self.achieved_rate:.1f}{target} req/s | in flight {self.in_flight} | "
            f"ok {self.ok} degraded {self.degraded} failed {self.failed - self.dropped} | TTFT p95 {ttft}"
            + (f" | dropped by the harness {self.dropped}" if self.dropped else "")
            + (f" (load generator backlog {self.dropped_backlog}: it cannot hold this rate)" if self.dropped_backlog else "")
            + (f" | abandoned {self.abandoned}" if self.abandoned else "")
            + (f" | LOST load worker(s) {', '.join(self.lost_workers)}: their share is not scored" if self.lost_workers else "")
        )


def write_progress(path: Path, progress: LoadProgress) -> None:
    """Atomic rewrite, so a reader never sees half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(progress)), encoding="utf-8")
    os.replace(tmp, path)


def read_progress(path: Path) -> LoadProgress | None:
    try:
        return LoadProgress(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


class Collector:
    """Writes every record and keeps the counters behind `LoadProgress`."""

    def __init__(self, writer: RecordWriter, target_rate: float | None, workers: int, start_at: float | None = None) -> None:
        self.writer = writer
        self.start_at = start_at  # achieved_rate counts from here (None: from the first snapshot)
        self.target_rate = target_rate
        self.workers = workers
        self.master: str | None = None
        self.connected = 0
        self.counts = {"ok": 0, "degraded": 0, "failed": 0, "abandoned": 0}
        self.dropped = 0
        self.dropped_backlog = 0
        self._ttfts: deque[tuple[float, float]] = deque()   # (t_end, ttft)
        self._sent: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}
        self._health: dict[str, LoopHealth] = {}
        self._ready: dict[str, float] = {}
        self._lost: set[str] = set()

    def add(self, record: RequestRecord | dict[str, Any]) -> None:
        rec = record if isinstance(record, RequestRecord) else RequestRecord(**record)
        self.writer.write(rec)
        self.counts[rec.outcome] += 1
        if rec.error_class == "dropped":
            self.dropped += 1
            self.dropped_backlog += rec.drop_reason == "load_backlog"
        ttft = rec.ttft
        if ttft is not None and rec.outcome != "failed" and rec.t_end is not None:
            self._ttfts.append((rec.t_end, ttft))

    def worker_stats(self, worker: str, sent: int, in_flight: int) -> None:
        """Latest cumulative counters of one worker."""
        self._sent[worker] = sent
        self._in_flight[worker] = in_flight

    def worker_ready(self, worker: str, t: float) -> None:
        """When one worker was ready to send (the snapshot shows the last worker's)."""
        self._ready[worker] = t

    def worker_lost(self, worker: str) -> None:
        """The master stopped hearing from `worker`: its in-flight requests will never be reported."""
        self._lost.add(worker)
        self._in_flight[worker] = 0

    def worker_health(self, worker: str, health: LoopHealth) -> None:
        """Latest self-measured health of one worker process (the snapshot shows the worst)."""
        self._health[worker] = health

    def snapshot(self, now: float, state: LoadState) -> LoadProgress:
        sent = sum(self._sent.values())
        if self.start_at is None:
            self.start_at = now
        rate = sent / (now - self.start_at) if now > self.start_at else 0.0
        while self._ttfts and self._ttfts[0][0] < now - RECENT:
            self._ttfts.popleft()
        return LoadProgress(
            t=now,
            state=state,
            target_rate=self.target_rate,
            achieved_rate=rate,
            in_flight=sum(self._in_flight.values()),
            sent=sent,
            ok=self.counts["ok"],
            degraded=self.counts["degraded"],
            failed=self.counts["failed"],
            dropped=self.dropped,
            dropped_backlog=self.dropped_backlog,
            lost_workers=sorted(self._lost),
            ttft_p95=_p95([v for _, v in self._ttfts]),
            workers=self.workers,
            master=self.master,
            connected=self.connected,
            abandoned=self.counts["abandoned"],
            ready_at=max(self._ready.values()) if len(self._ready) == self.workers else None,
            **worst_health(self._health.values()),
        )


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
