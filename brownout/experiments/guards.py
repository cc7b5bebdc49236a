"""Stop-condition triggers: the behaviour behind the `stop_conditions` spec models.

The runner feeds every trigger, at each tick, only what is new since its last call:

    triggers = build_triggers(experiment.stop_conditions)
    for trigger in triggers:
        trigger.update(now, new_records, new_probe_results)
        if trigger.fired: ...abort: stop load, roll back...

Records are mappings with the `RequestRecord` fields (dicts, or pandas rows where a
missing mark is NaN). Windows are placed by completion time (`t_end`, else `t_send`,
else `t_sched`). All logic is pure except `PromQLGuard`, which queries Prometheus.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import numpy as np

from brownout.spec import guards as spec
from brownout.probes.base import CheckFailed, failure_reason
from brownout.probes.prometheus import OPS, instant_query
from brownout.rundata.probes import ProbeResult
from brownout.reports.metrics.latency import percentile

__all__ = [
    "AccuracyGuard",
    "ErrorRateGuard",
    "GuardFiring",
    "LatencyGuard",
    "ProbeFailuresGuard",
    "PromQLGuard",
    "Trigger",
    "build_triggers",
]

SpecT = TypeVar(
    "SpecT", bound="spec.ErrorRateGuard | spec.LatencyGuard | spec.ProbeFailuresGuard | spec.PromQLGuard | spec.AccuracyGuard"
)
WindowSpecT = TypeVar("WindowSpecT", bound="spec.ErrorRateGuard | spec.LatencyGuard")
Record = Mapping[str, Any]


@dataclass(frozen=True)
class GuardFiring:
    name: str
    t: float        # run-clock time of the update that fired it
    reason: str     # with the numbers: "error rate 0.62 > 0.50 for 10.0s over 5.0s window (41 requests)"


class Trigger(ABC, Generic[SpecT]):
    """One guard's state. Once fired it stays fired until `reset()`."""

    def __init__(self, guard: SpecT) -> None:
        self.spec = guard
        self.name: str = guard.name
        self._fired: GuardFiring | None = None

    @property
    def fired(self) -> GuardFiring | None:
        return self._fired

    def update(self, now: float, records: Sequence[Record], probe_results: Sequence[ProbeResult]) -> None:
        if self._fired is None:
            self._update(now, records, probe_results)

    def reset(self) -> None:
        self._fired = None
        self._clear()

    def _fire(self, now: float, reason: str) -> None:
        self._fired = GuardFiring(self.name, now, reason)

    @abstractmethod
    def _update(self, now: float, records: Sequence[Record], probe_results: Sequence[ProbeResult]) -> None: ...

    @abstractmethod
    def _clear(self) -> None: ...


def _num(record: Record, key: str) -> float | None:
    value = record.get(key)
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _completed_at(record: Record) -> float | None:
    for key in ("t_end", "t_send", "t_sched"):
        t = _num(record, key)
        if t is not None:
            return t
    return None


class _Sustained:
    """Tracks since when a condition has held, for `for:` durations."""

    def __init__(self) -> None:
        self.since: float | None = None

    def observe(self, now: float, holds: bool) -> float | None:
        """How long the condition has held at `now`, or None when it does not hold."""
        if not holds:
            self.since = None
            return None
        if self.since is None:
            self.since = now
        return now - self.since


class _WindowTrigger(Trigger[WindowSpecT]):
    """A value over the requests completed in the last `window` seconds, above a limit for `for`."""

    def __init__(self, guard: WindowSpecT) -> None:
        super().__init__(guard)
        self._window: list[tuple[float, Any]] = []
        self._sustained = _Sustained()

    @abstractmethod
    def _sample(self, record: Record) -> Any | None:
        """What a record contributes to the window, or None when it does not count."""

    @abstractmethod
    def _value(self, samples: list[Any]) -> float | None: ...

    @abstractmethod
    def _label(self, value: float) -> str:
        """"error rate 0.62 > 0.50": the measured value against the limit."""

    def _update(self, now: float, records: Sequence[Record], probe_results: Sequence[ProbeResult]) -> None:
        g = self.spec
        for record in records:
            t, sample = _completed_at(record), self._sample(record)
            if t is not None and sample is not None:
                self._window.append((t, sample))
        # Filter rather than pop from the left: records from several workers arrive out of order.
        self._window = [(t, s) for t, s in self._window if t > now - g.window]
        samples = [s for _, s in self._window]
        value = self._value(samples) if len(samples) >= g.min_requests else None
        held = self._sustained.observe(now, value is not None and value > g.above)
        if value is not None and held is not None and held >= g.for_:
            self._fire(now, f"{self._label(value)} for {held:.1f}s over {g.window:.1f}s window ({len(samples)} requests)")

    def _clear(self) -> None:
        self._window.clear()
        self._sustained = _Sustained()


class ErrorRateGuard(_WindowTrigger[spec.ErrorRateGuard]):
    """Failed requests other than throttled (429) ones, over all completed requests."""

    def _sample(self, record: Record) -> bool:
        return record.get("outcome") == "failed" and record.get("error_class") != "throttled"

    def _value(self, samples: list[bool]) -> float:
        return sum(samples) / len(samples)

    def _label(self, value: float) -> str:
        return f"error rate {value:.2f} > {self.spec.above:.2f}"


class LatencyGuard(_WindowTrigger[spec.LatencyGuard]):
    """A percentile of ttft, e2e or itl (gaps pooled) over successful requests (ok or degraded)."""

    def _sample(self, record: Record) -> list[float] | None:
        if record.get("outcome") not in ("ok", "degraded"):
            return None
        if self.spec.metric == "itl":
            gaps = record.get("itl")
            return [float(x) for x in gaps] if gaps is not None and len(gaps) else None
        end = "t_first" if self.spec.metric == "ttft" else "t_end"
        t_end, t_send = _num(record, end), _num(record, "t_send")
        return None if t_end is None or t_send is None else [t_end - t_send]

    def _value(self, samples: list[list[float]]) -> float:
        # The reports' nearest-rank percentile, so a guard and an SLO on the same p95 agree.
        return percentile(np.asarray([x for sample in samples for x in sample], dtype=float), float(self.spec.stat[1:]))

    def _label(self, value: float) -> str:
        return f"{self.spec.metric} {self.spec.stat} {value:.3f}s > {self.spec.above:g}s"


class ProbeFailuresGuard(Trigger[spec.ProbeFailuresGuard]):
    """`consecutive` failed runs of one probe in a row (results in arrival order)."""

    def __init__(self, guard: spec.ProbeFailuresGuard) -> None:
        super().__init__(guard)
        self._streak = 0

    def _update(self, now: float, records: Sequence[Record], probe_results: Sequence[ProbeResult]) -> None:
        for result in probe_results:
            if result.probe != self.spec.probe:
                continue
            self._streak = 0 if result.ok else self._streak + 1
            if self._streak >= self.spec.consecutive:
                self._fire(now, f"probe '{self.spec.probe}' failed {self._streak} times in a row (last: {result.reason})")
                return

    def _clear(self) -> None:
        self._streak = 0


class AccuracyGuard(Trigger[spec.AccuracyGuard]):
    """Share of correct judged answers over the last `window` seconds below `below` for `for`.

    Golden runs count at their start, checked requests at completion; runs and requests
    with no answer to judge (`correct` None) do not count, as in the accuracy metric.
    """

    def __init__(self, guard: spec.AccuracyGuard) -> None:
        super().__init__(guard)
        self._window: list[tuple[float, bool]] = []
        self._sustained = _Sustained()

    def _update(self, now: float, records: Sequence[Record], probe_results: Sequence[ProbeResult]) -> None:
        g = self.spec
        self._window += [(r.t, r.correct) for r in probe_results
                         if r.correct is not None and (g.probe is None or r.probe == g.probe)]
        if g.probe is None:
            for record in records:
                t, correct = _completed_at(record), record.get("correct")
                if t is not None and isinstance(correct, bool):
                    self._window.append((t, correct))
        self._window = [(t, c) for t, c in self._window if t > now - g.window]
        judged = len(self._window)
        value = sum(c for _, c in self._window) / judged if judged >= g.min_answers else None
        held = self._sustained.observe(now, value is not None and value < g.below)
        if value is not None and held is not None and held >= g.for_:
            self._fire(now, f"accuracy {value:.2f} < {g.below:.2f} for {held:.1f}s over {g.window:.1f}s window "
                       f"({judged} judged answers)")

    def _clear(self) -> None:
        self._window.clear()
        self._sustained = _Sustained()


class PromQLGuard(Trigger[spec.PromQLGuard]):
    """A PromQL instant query whose value satisfies `op threshold` for `for`.

    Queries at most every `interval`, each with `timeout`. A failed query or no data
    never fires the guard and breaks a `for` streak; `last_error` says why.
    """

    def __init__(self, guard: spec.PromQLGuard) -> None:
        super().__init__(guard)
        self._last_query: float | None = None
        self._sustained = _Sustained()
        self.last_error: str | None = None

    def _update(self, now: float, records: Sequence[Record], probe_results: Sequence[ProbeResult]) -> None:
        g = self.spec
        if self._last_query is not None and now - self._last_query < g.interval:
            return
        self._last_query = now
        try:
            value = instant_query(g.url, g.query, g.timeout)
            self.last_error = None if value is not None else "no data"
        except CheckFailed as failed:
            value, self.last_error = None, failed.reason
        except httpx.HTTPError as exc:
            value, self.last_error = None, failure_reason(exc) if not isinstance(exc, httpx.TimeoutException) else "timeout"
        held = self._sustained.observe(now, value is not None and OPS[g.op](value, g.threshold))
        if held is not None and held >= g.for_:
            self._fire(now, f"{g.query} = {value:g} {g.op} {g.threshold:g} for {held:.1f}s")

    def _clear(self) -> None:
        self._last_query = None
        self._sustained = _Sustained()
        self.last_error = None


_TRIGGERS: dict[type, type[Trigger]] = {
    spec.ErrorRateGuard: ErrorRateGuard,
    spec.LatencyGuard: LatencyGuard,
    spec.ProbeFailuresGuard: ProbeFailuresGuard,
    spec.PromQLGuard: PromQLGuard,
    spec.AccuracyGuard: AccuracyGuard,
}


def build_triggers(stop_conditions: Sequence[spec.Guard]) -> list[Trigger]:
    return [_TRIGGERS[type(g)](g) for g in stop_conditions]
