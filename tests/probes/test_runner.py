"""ProbeRunner: several probes on intervals in a background loop; clean stop; JSONL; run_once."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
from pydantic import TypeAdapter

from brownout.errors import ProbeError
from brownout.spec.probes import Probe
from brownout.rundata.probes import ProbeResult
from brownout.probes.runner import ProbeRunner

pytestmark = pytest.mark.filterwarnings("error")  # "stops cleanly" includes: no warnings

PROBES = TypeAdapter(list[Probe])


def specs(interval: float = 0.2, timeout: float = 1.0):
    return PROBES.validate_python([
        {"kind": "chat", "name": "canary", "prompt": "Capital of France?", "expect": {"contains": "Paris"},
         "interval": interval, "timeout": timeout},
        {"kind": "http", "name": "health", "path": "/health", "interval": interval, "timeout": timeout},
        {"kind": "embeddings", "name": "embed", "text": "hello world", "dimension": 16, "interval": interval * 2,
         "timeout": timeout},
    ])


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def probe_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "brownout-probes" or t.name.startswith("asyncio_")]


def test_runs_probes_on_intervals_and_stops_cleanly(fake_ai, target, tmp_path):
    out = tmp_path / "probes.jsonl"
    runner = ProbeRunner(specs(), target, out)
    runner.start()
    try:
        assert wait_until(lambda: sum(r.probe == "canary" for r in runner.results()) >= 4)
    finally:
        runner.stop(timeout=10)
    assert not runner.running and probe_threads() == []
    results = runner.results()
    by_probe = {name: [r for r in results if r.probe == name] for name in ("canary", "health", "embed")}
    assert all(by_probe.values()) and all(r.ok for r in results), [r.reason for r in results if not r.ok]
    # Runs start on the interval grid: consecutive canary runs about 0.2s apart (loose: shared CPUs).
    starts = [r.t for r in by_probe["canary"]]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(0.1 < g < 1.0 for g in gaps), gaps
    assert len(by_probe["embed"]) <= len(by_probe["canary"])  # twice the interval
    # JSON lines, one per result, in arrival order.
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [ProbeResult(**line) for line in lines] == results
    # Nothing is recorded after stop.
    time.sleep(0.5)
    assert len(runner.results()) == len(results)


def test_results_since(fake_ai, target):
    runner = ProbeRunner(specs(), target)
    runner.start()
    try:
        assert wait_until(lambda: len(runner.results()) >= 3)
        cut = target.clock.now()
        assert wait_until(lambda: len(runner.results_since(cut)) >= 3)
    finally:
        runner.stop()
    later = runner.results_since(cut)
    assert later and all(r.t >= cut for r in later)
    assert all(r.t < cut for r in runner.results() if r not in later)


def test_a_slow_probe_never_overlaps_itself(fake_ai, target):
    fake_ai.behaviour.delay = 0.45  # each run takes more than two 0.2s intervals
    (canary,) = PROBES.validate_python([
        {"kind": "http", "name": "health", "path": "/health", "interval": 0.2, "timeout": 2.0},
    ])
    runner = ProbeRunner([canary], target)
    runner.start()
    try:
        time.sleep(2.1)
    finally:
        runner.stop()
    results = runner.results()
    assert all(r.ok for r in results), [r.reason for r in results]
    # Without skipping ticks there would be ~10 runs; each run holds ~0.45s and ends before the next starts.
    assert 2 <= len(results) <= 5, len(results)
    for a, b in itertools.pairwise(results):
        assert b.t >= a.t + a.latency - 0.01
    # Skipped ticks send nothing; a run still in flight at stop() is cancelled and not recorded.
    # (only this probe's path: the server is shared, and an earlier test's cancelled request may land late)
    assert len([path for path, _ in fake_ai.seen if path == "/health"]) - len(results) in (0, 1)


def test_stop_cancels_in_flight_runs(fake_ai, target):
    fake_ai.behaviour.delay = 5.0
    runner = ProbeRunner(specs(timeout=10.0), target)
    runner.start()
    assert wait_until(lambda: len(fake_ai.seen) >= 3)
    started = time.monotonic()
    runner.stop(timeout=10)
    assert time.monotonic() - started < 3.0  # did not wait for the 5s answers
    assert runner.results() == [] and probe_threads() == []


def test_run_once_before_start_and_while_running(fake_ai, target, tmp_path):
    out = tmp_path / "probes.jsonl"
    runner = ProbeRunner(specs(interval=5.0), target, out)
    first = runner.run_once("canary")
    assert first.ok and first.probe == "canary"
    runner.start()
    try:
        fake_ai.behaviour.answer = "Lyon"
        second = runner.run_once("canary")
    finally:
        runner.stop()
    assert not second.ok and second.reason.startswith("content check")
    assert first in runner.results() and second in runner.results()
    assert len(out.read_text().splitlines()) == len(runner.results())


def test_run_once_unknown_probe(target):
    with pytest.raises(ProbeError, match="unknown probe 'nope'; defined: canary, embed, health"):
        ProbeRunner(specs(), target).run_once("nope")


def test_misconfigured_probe_is_recorded_not_fatal(fake_ai, target, monkeypatch):
    monkeypatch.delenv("BROWNOUT_UNSET_TOKEN", raising=False)
    bad = PROBES.validate_python([
        {"kind": "kubernetes", "name": "kube", "workload": "deployment/llm", "api_url": "http://127.0.0.1:9",
         "token_env": "BROWNOUT_UNSET_TOKEN", "interval": 0.2},
    ])
    runner = ProbeRunner(bad + specs(), target)
    with pytest.raises(ProbeError, match="BROWNOUT_UNSET_TOKEN"):
        runner.run_once("kube")
    runner.start()
    try:
        assert wait_until(lambda: any(r.probe == "kube" for r in runner.results()))
        assert wait_until(lambda: any(r.probe == "canary" and r.ok for r in runner.results()))
    finally:
        runner.stop()
    kube = next(r for r in runner.results() if r.probe == "kube")
    assert not kube.ok and kube.reason.startswith("probe error: ") and "BROWNOUT_UNSET_TOKEN" in kube.reason
