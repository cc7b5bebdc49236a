"""Records infrastructure metrics (GPU memory, KV-cache usage, queue depth) through the run.

Scrapes Prometheus text endpoints (vLLM `/metrics`, a DCGM exporter, sandbox
replicas) on an interval, in its own thread and asyncio loop for the same reason
as the probe runner (httpx must stay out of the gevent-driven runner thread).
Each kept series value becomes a `Sample`, streamed to JSON lines as it arrives;
a failed scrape is a `ScrapeFailure`, never a silent gap. `summarize` turns the
samples into before/during/after statistics per phase for the report.
"""

from __future__ import annotations

import asyncio
import fnmatch
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from brownout.spec.metrics import MetricsEndpoint, MetricsSampling
from brownout.rundata.timeline import PhaseWindow
from brownout.rundata.clock import RunClock
from brownout.rundata.gauges import Sample
from brownout.probes.background import BackgroundLoop
from brownout.probes.sink import JsonlSink

__all__ = [
    "MetricSampler",
    "PhaseStats",
    "Sample",
    "ScrapeFailure",
    "SeriesSummary",
    "parse_exposition",
    "summarize",
]

_START_TIMEOUT = 10.0
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass(frozen=True)
class ScrapeFailure:
    t: float
    endpoint: str
    error: str                  # "HTTP 503", "ConnectTimeout: ...", "no kept metric on the page"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        if match is None:
            if text[position:].strip():
                raise ValueError(f"bad label set {{{text}}}")
            break
        labels[match[1]] = re.sub(r'\\[\\"n]', lambda m: _ESCAPES[m[0]], match[2])
        position = match.end()
    return labels


def parse_exposition(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(metric, labels, value) of every sample in a Prometheus text (or OpenMetrics) page.

    Comments and lines that are not samples are skipped: a scrape keeps what it can read.
    """
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            continue
        try:
            samples.append((match[1], _labels(match[2] or ""), float(match[3])))
        except ValueError:
            continue
    return samples


def _kept(endpoint: MetricsEndpoint, metric: str) -> bool:
    return any(fnmatch.fnmatchcase(metric, pattern) for pattern in endpoint.metrics)


class MetricSampler:
    """`start()`, read `samples()` while the run goes on, `stop()` at the end (idempotent)."""

    def __init__(self, spec: MetricsSampling, clock: RunClock, out_path: Path | None = None) -> None:
        self.spec = spec
        self.clock = clock
        self.out_path = Path(out_path) if out_path is not None else None
        self._samples: list[Sample] = []
        self._failures: list[ScrapeFailure] = []
        self._sink = JsonlSink(self.out_path)
        self._background = BackgroundLoop("brownout-metrics", _START_TIMEOUT)

    def start(self) -> None:
        self._sink.open()
        self._background.start(self._main)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel scrapes in flight, join the thread and close the file."""
        self._background.stop(timeout)
        self._sink.close()

    def samples(self) -> list[Sample]:
        with self._sink.lock:
            return list(self._samples)

    def failures(self) -> list[ScrapeFailure]:
        with self._sink.lock:
            return list(self._failures)

    def _record(self, rows: Sequence[Sample | ScrapeFailure]) -> None:
        with self._sink.lock:
            for row in rows:
                (self._samples if isinstance(row, Sample) else self._failures).append(row)  # type: ignore[arg-type]
            self._sink.write(row.to_dict() for row in rows)

    async def _main(self, stopping: asyncio.Event, ready: Callable[[], None]) -> None:
        # trust_env=False: an HTTP_PROXY in the environment must not reroute scrapes.
        async with httpx.AsyncClient(timeout=self.spec.timeout, trust_env=False) as client:
            tasks = [asyncio.create_task(self._every(endpoint, client)) for endpoint in self.spec.endpoints]
            ready()
            try:
                await stopping.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _every(self, endpoint: MetricsEndpoint, client: httpx.AsyncClient) -> None:
        """Scrape at each interval tick; ticks missed while a slow scrape was waiting are skipped."""
        loop = asyncio.get_running_loop()
        first, tick = loop.time(), 0
        while True:
            self._record(await self._scrape(endpoint, client))
            tick = max(tick + 1, int((loop.time() - first) // self.spec.interval) + 1)
            await asyncio.sleep(first + tick * self.spec.interval - loop.time())

    async def _scrape(self, endpoint: MetricsEndpoint, client: httpx.AsyncClient) -> list[Sample | ScrapeFailure]:
        t = self.clock.now()
        try:
            response = await client.get(endpoint.url)
        except httpx.HTTPError as exc:
            return [ScrapeFailure(t, endpoint.name, f"{type(exc).__name__}: {exc}")]
        if response.status_code != 200:
            return [ScrapeFailure(t, endpoint.name, f"HTTP {response.status_code}")]
        kept: list[Sample | ScrapeFailure] = [
            Sample(t, endpoint.name, metric, labels, value)
            for metric, labels, value in parse_exposition(response.text) if _kept(endpoint, metric)
        ]
        return kept or [ScrapeFailure(t, endpoint.name, "no kept metric on the page")]


@dataclass(frozen=True)
class PhaseStats:
    count: int
    min: float
    mean: float
    max: float
    last: float


@dataclass(frozen=True)
class SeriesSummary:
    """One series (endpoint, metric, labels) across phases; a phase without samples is None (no data)."""

    endpoint: str
    metric: str
    labels: dict[str, str]
    phases: dict[str, PhaseStats | None]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stats(values: list[float]) -> PhaseStats | None:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    return PhaseStats(len(finite), min(finite), sum(finite) / len(finite), max(finite), finite[-1])


def summarize(samples: Sequence[Sample], phases: Sequence[PhaseWindow]) -> list[SeriesSummary]:
    """Per series, min/mean/max/last of its finite values in each phase window ([start, end)).

    Series are ordered by endpoint, metric and labels; samples outside every phase are ignored.
    """
    series: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[Sample]] = {}
    for sample in sorted(samples, key=lambda s: s.t):
        series.setdefault((sample.endpoint, sample.metric, tuple(sorted(sample.labels.items()))), []).append(sample)
    return [
        SeriesSummary(endpoint, metric, dict(labels), {
            phase.name: _stats([s.value for s in rows if phase.start <= s.t < phase.end]) for phase in phases
        })
        for (endpoint, metric, labels), rows in sorted(series.items())
    ]
