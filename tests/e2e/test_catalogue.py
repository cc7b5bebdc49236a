"""The experiment catalogue: every file validates, and each runs, shortened, on the real sandbox.

For every fault family the same file passes on the resilient sandbox and fails on the
fragile one, naming the SLOs it missed. Both profiles run side by side in their own
subprocesses (own BROWNOUT_HOME), so a family costs one shortened run of wall time.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from brownout.experiments.loading import load_experiment, validate_paths
from brownout.spec.files import data_files
from brownout.spec.units import format_duration, parse_duration
from tests.e2e.conftest import REPO, assert_passed_or_harness_inconclusive, processes_with_marker, wait_for

EXPERIMENTS = REPO / "experiments"
SHORT_PHASES = 15.0
"""Seconds of phases in a shortened run; sandbox start, rollback and reports come on top."""
MIN_WINDOW = 4.0
MIN_RECOVERY = 6.0  # the after-recovery check looks at its second half: 3 s holds several probe runs even on a busy CI box
RUN_TIMEOUT = 120.0
SHORT_HOLD = "4s"


@dataclass(frozen=True)
class Expectation:
    """What a shortened run of one catalogue file must show on each profile."""

    file: str
    fragile_fails: frozenset[str]
    """SLOs the fragile sandbox must miss; empty when both profiles pass (nothing the sandbox can do)."""


CATALOGUE = [
    Expectation("pod-kill.yaml", frozenset({"available-during-fault"})),
    Expectation("gpu-oom.yaml", frozenset({"available-during-fault"})),
    Expectation("region-failover.yaml", frozenset({"failover-time", "available-during-fault"})),
    Expectation("slow-embeddings.yaml", frozenset({"available-during-fault", "e2e-during-fault"})),
    Expectation("ci-gate.yaml", frozenset({"available-during-fault"})),
    Expectation("dr-drill.yaml", frozenset({"failover-time", "available-during-loss"})),
    Expectation("game-day.yaml", frozenset({"available-during-faults"})),
    Expectation("stream-faults.yaml", frozenset()),
]
FULL_LENGTH_ELSEWHERE = {"quickstart.yaml"}  # tests/e2e/test_quickstart.py runs it as written


def _scaled(value: Any, factor: float, least: float = 0.1) -> str:
    """A duration times `factor`, floored to 100 ms (floors keep schedules inside their phase),
    never below `least`; zero stays zero."""
    seconds = parse_duration(value)
    if seconds == 0:
        return "0"
    return format_duration(max(least, math.floor(seconds * factor * 10 + 1e-9) / 10))


def shorten(document: dict[str, Any], total: float) -> dict[str, Any]:
    """The same experiment compressed in time so its phases last about `total` seconds.

    One factor scales the time axis: phases, fault schedules, the sandbox's cold start,
    probe intervals and scoring buckets (2 s at least, so buckets hold requests). Baseline and recovery keep at least
    `MIN_WINDOW` and `MIN_RECOVERY` (their steady-state checks need requests and probe runs); faults are
    placed within the fault phase only, so that floor never moves them. Thresholds,
    timeouts and load rates stay as written.
    """
    phases = document["phases"]
    factor = total / sum(parse_duration(v) for v in phases.values())
    least = {"warmup": 0.5, "baseline": MIN_WINDOW, "recovery": MIN_RECOVERY}
    short = {**document, "phases": {k: _scaled(v, factor, least.get(k, 0.1)) for k, v in phases.items()}}
    short["faults"] = [
        {**f, "schedule": {k: _scaled(v, factor) for k, v in f.get("schedule", {}).items()}}
        for f in document.get("faults", [])
    ]
    short["probes"] = [
        {**p, "interval": _scaled(p["interval"], factor, least=0.5)} if "interval" in p else p
        for p in document.get("probes", [])
    ]
    sandbox = document["target"].get("sandbox")
    if sandbox and "cold_start" in sandbox:
        short["target"] = {**document["target"], "sandbox": {**sandbox, "cold_start": _scaled(sandbox["cold_start"], factor)}}
    scoring = dict(document.get("scoring", {}))
    if "bucket" in scoring:
        scoring["bucket"] = _scaled(scoring["bucket"], factor, least=2.0)
    # A shortened run has about three full buckets after the last rollback: a hold of two leaves room
    # for one sparse or noisy bucket, as the full-length run has room for several.
    scoring["recovery_hold"] = SHORT_HOLD
    short["scoring"] = scoring
    return short


def _write_short(name: str, directory: Path) -> Path:
    """The shortened copy, written elsewhere: fragments spliced in (as the loader read them) and data files
    by absolute path into the repository, which the run is allowed to read from (`BROWNOUT_ALLOW_PATHS`)."""
    loaded = load_experiment(EXPERIMENTS / name, env={"BROWNOUT_SANDBOX_PROFILE": "resilient"})
    document = copy.deepcopy(loaded.raw_document)
    for parts, value in data_files(loaded.spec):
        _set(document, parts, value)
    path = directory / name
    path.write_text(yaml.safe_dump(shorten(document, SHORT_PHASES), sort_keys=False))
    [(_, problems)] = validate_paths([path], allow=[REPO])
    assert problems == [], f"shortened {name} is invalid: {problems}"
    return path


def _set(document: dict[str, Any], parts: tuple[str | int, ...], value: str) -> None:
    for part in parts[:-1]:
        document = document[part]
    document[parts[-1]] = value


@dataclass
class Run:
    code: int
    output: str
    results: dict[str, Any]

    @property
    def unmet(self) -> set[str]:
        return {s["name"] for s in self.results["slos"] if s["status"] != "pass"}


def _run_profiles(path: Path, env: dict[str, str], out: Path) -> dict[str, Run]:
    """`brownout run` on both profiles at once, each with its own journal home and output."""
    return run_side_by_side({
        profile: (path, {**env, "BROWNOUT_SANDBOX_PROFILE": profile, "BROWNOUT_HOME": f"{env['BROWNOUT_HOME']}-{profile}",
                         "BROWNOUT_ALLOW_PATHS": str(REPO)})  # the short copy reads loadgen/ and probes/ files by absolute path
        for profile in ("resilient", "fragile")
    }, out)


def run_side_by_side(runs: dict[str, tuple[Path, dict[str, str]]], out: Path,
                     started: Callable[[str, subprocess.Popen], None] | None = None) -> dict[str, Run]:
    """`brownout run FILE` for each name at once, with its environment, into `out / name`;
    `started(name, process)` is called after each start (to stagger them)."""
    procs = {}
    for name, (path, run_env) in runs.items():
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "brownout", "run", str(path), "--quiet", "--out", str(out / name)],
            env=run_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        if started is not None:
            started(name, procs[name])
    results = {}
    try:
        for name, proc in procs.items():
            output, _ = proc.communicate(timeout=RUN_TIMEOUT)
            results_file = out / name / "results.json"
            assert results_file.is_file(), f"{name}: no results.json (exit {proc.returncode})\n{output}"
            results[name] = Run(proc.returncode, output, json.loads(results_file.read_text()))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def test_every_catalogue_file_validates():
    results = validate_paths([EXPERIMENTS])
    assert len(results) >= 9
    assert {p.name for p, _ in results} >= {e.file for e in CATALOGUE} | FULL_LENGTH_ELSEWHERE
    assert [(str(p), problems) for p, problems in results if problems] == []


def _commented_faults(text: str) -> list[dict[str, Any]]:
    """The commented-out alternative faults (`  # - name: ...` blocks), uncommented."""
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("  # - name:"):
            current = [line.replace("  # ", "  ", 1)]
            blocks.append(current)
        elif current is not None and line.startswith("  #   "):
            current.append(line.replace("  # ", "  ", 1))
        else:
            current = None
    return [item for block in blocks for item in yaml.safe_load("\n".join(block))]


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_commented_alternatives_are_valid_faults(path):
    """Users uncomment these for a cluster or a real Toxiproxy: they must be right as written."""
    from pydantic import TypeAdapter

    from brownout.spec.faults import Fault
    from brownout.spec.units import FROM_FILE

    alternatives = _commented_faults(path.read_text())
    for fault in alternatives:
        TypeAdapter(Fault).validate_python(fault, context={FROM_FILE: True})
    assert all(not f["kind"].startswith("sandbox.") for f in alternatives)


def test_shorten_keeps_units_places_and_validity(tmp_path):
    document = yaml.safe_load((EXPERIMENTS / "game-day.yaml").read_text())
    short = shorten(document, 24.5)
    assert short["phases"] == {"warmup": "500ms", "baseline": "4s", "fault": "18s", "recovery": "6s"}
    assert [f["schedule"] for f in short["faults"]] == [
        {"start": "1s", "duration": "4s"}, {"start": "7s", "duration": "4s"}, {"start": "13s", "duration": "4s"}
    ]
    assert short["target"]["sandbox"]["cold_start"] == "1s"
    assert [p["interval"] for p in short["probes"]] == ["500ms", "500ms"]
    assert short["scoring"]["bucket"] == "2s" and short["scoring"]["recovery_hold"] == SHORT_HOLD
    assert short["load"] == document["load"] and short["slos"] == document["slos"]
    assert document["phases"]["fault"] == "3m"  # the original is untouched
    [(_, problems)] = validate_paths([_write_short("game-day.yaml", tmp_path)])
    assert problems == []


SAME_FAULTS_AS_ANOTHER = {"pod-kill.yaml": "ci-gate.yaml", "dr-drill.yaml": "region-failover.yaml",
                          "game-day.yaml": "ci-gate, gpu-oom and slow-embeddings"}
"""Families whose faults another family's run already exercises: they run with `pytest -m catalogue_full`
(the suite's 15-minute budget on 2 cores), and every file is validated with its references either way."""


@pytest.mark.slow
@pytest.mark.parametrize("expect", [
    pytest.param(e, marks=pytest.mark.catalogue_full) if e.file in SAME_FAULTS_AS_ANOTHER else e for e in CATALOGUE
], ids=lambda e: e.file.removesuffix(".yaml"))
def test_catalogue_experiment_shortened_on_both_profiles(expect: Expectation, brownout_env, tmp_path):
    path = _write_short(expect.file, tmp_path)
    runs = _run_profiles(path, brownout_env, tmp_path / "out")
    resilient, fragile = runs["resilient"], runs["fragile"]

    assert_passed_or_harness_inconclusive(resilient.code, resilient.output, resilient.results)
    assert all(f["injected_at"] and f["rolled_back_at"] for f in resilient.results["timeline"]["faults"])
    for used in resilient.results["inputs"]:  # the exact data files the run read, kept beside its results
        kept = (tmp_path / "out" / "resilient" / used["kept"]).read_bytes()
        assert hashlib.sha256(kept).hexdigest() == used["sha256"] == hashlib.sha256(Path(used["written"]).read_bytes()).hexdigest()
    if expect.fragile_fails:
        assert fragile.code == 1, fragile.output
        assert fragile.results["verdict"] == "failed"
        assert expect.fragile_fails <= fragile.unmet, fragile.output
        for name in expect.fragile_fails:
            assert f"not met: slo '{name}'" in fragile.output
    else:
        assert_passed_or_harness_inconclusive(fragile.code, fragile.output, fragile.results)

    wait_for(lambda: not processes_with_marker(brownout_env["BROWNOUT_TEST_MARKER"]), 10)
    assert processes_with_marker(brownout_env["BROWNOUT_TEST_MARKER"]) == []
