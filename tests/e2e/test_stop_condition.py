"""A stop condition aborts a run that goes too far, and the faults are still rolled back."""

import json
from pathlib import Path
import textwrap

import pytest

from tests.e2e.conftest import journal_entries, processes_with_marker, run_brownout, wait_for

pytestmark = pytest.mark.slow


def test_error_rate_guard_aborts_with_exit_3_and_rolls_back(brownout_env, tmp_path):
    experiment = tmp_path / "meltdown.yaml"
    experiment.write_text(textwrap.dedent("""
        apiVersion: brownout/v1
        kind: Experiment
        metadata: {name: meltdown}
        target:
          sandbox: {profile: fragile, regions: [us-east], replicas_per_region: 1, cold_start: 30s}
        load:
          arrival: {kind: constant, rate: 5/s}
          dataset: {kind: synthetic, output_tokens: {mean: 8}}
          timeout: 5s
        phases: {warmup: 1s, baseline: 4s, fault: 30s, recovery: 3s}
        faults:
          - name: region-gone
            kind: sandbox.region-down
            region: us-east
            schedule: {start: 1s}
        stop_conditions:
          - {name: meltdown, kind: error_rate, above: 0.5, for: 1s, window: 2s, min_requests: 3}
    """))
    out = tmp_path / "out"
    proc = run_brownout(["run", str(experiment), "--out", str(out), "--quiet"], brownout_env, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "stop condition 'meltdown' fired" in proc.stdout + proc.stderr
    entries = journal_entries(tmp_path / "home")
    types = [e["type"] for e in entries]
    assert types.index("guard_fired") < types.index("fault_undone")
    fired = next(e for e in entries if e["type"] == "guard_fired")
    applied = next(e for e in entries if e["type"] == "fault_applied")
    assert fired["t"] - applied["t"] < 10, "the guard should fire within seconds of the fault, not at the phase end"
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "aborted"
    assert any(e["kind"] == "guard_fired" and e["name"] == "meltdown" for e in results["timeline"]["events"])
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []


def test_json_log_format_gives_parseable_progress_and_events(brownout_env, tmp_path):
    experiment = tmp_path / "tiny.yaml"
    experiment.write_text(textwrap.dedent("""
        apiVersion: brownout/v1
        kind: Experiment
        metadata: {name: tiny}
        target:
          sandbox: {regions: [us-east], replicas_per_region: 2, cold_start: 1s}
        load:
          arrival: {kind: constant, rate: 4/s}
          dataset: {kind: synthetic, output_tokens: {mean: 4}}
        phases: {warmup: 0s, baseline: 3s, fault: 3s, recovery: 2s}
        faults:
          - {name: oom, kind: sandbox.gpu-oom, gpu_memory: 64MiB, schedule: {start: 0s, duration: 2s}}
    """))
    proc = run_brownout(["run", str(experiment), "--out", str(tmp_path / "out"), "--log-format", "json"], brownout_env, timeout=120)
    assert proc.stdout.strip(), proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]    # every stdout line is JSON, nothing else
    assert all({"event", "level", "ts", "message"} <= set(line) for line in lines), lines
    stamps = [line["ts"] for line in lines]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), "ts orders the lines"
    events = [line["event"] for line in lines]
    assert "progress" in events and "fault_injected" in events and "fault_rolled_back" in events
    progress = next(line for line in lines if line.get("event") == "progress")
    assert {"phase", "sent", "ok", "failed", "in_flight", "achieved_rate"} <= set(progress)
    assert events.count("result") == 1 and events[-1] == "result"
    result = lines[-1]
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert (result["verdict"], result["score"], result["exit_code"]) == (saved["verdict"], saved["score"], proc.returncode)
    assert set(result["outputs"]) >= {"json", "junit", "markdown", "html", "records"}
    assert all(Path(path).exists() for path in result["outputs"].values())
    injected = next(line for line in lines if line["event"] == "fault_injected")
    assert "{" not in injected["message"], injected       # words, not a dict repr
