"""Slow embeddings as a Toxiproxy latency toxic on the sandbox's embedding link, end to end."""

from __future__ import annotations

import json
import textwrap

import httpx
import pytest

from brownout.rundata.records import load_records
from tests.e2e.conftest import journal_entries, processes_with_marker, run_brownout, wait_for

pytestmark = pytest.mark.slow


def test_a_latency_toxic_on_the_embedder_link_slows_retrieval_and_is_undone(attached_sandbox, brownout_env, tmp_path):
    experiment = tmp_path / "toxic-embeddings.yaml"
    experiment.write_text(textwrap.dedent(f"""
        apiVersion: brownout/v1
        kind: Experiment
        metadata: {{name: toxic-embeddings}}
        target:
          sandbox: {{attach: "{attached_sandbox.control_url}"}}
        load:
          request: rag
          stream: false
          arrival: {{kind: constant, rate: 3/s}}
          timeout: 10s
        phases: {{warmup: 0s, baseline: 4s, fault: 6s, recovery: 4s}}
        faults:
          - name: slow-embedder-link
            kind: network.toxic
            proxy: sandbox-embedder
            toxic: {{type: latency, latency: 1500ms}}
            schedule: {{start: 1s, duration: 4s}}
    """))
    out = tmp_path / "out"
    proc = run_brownout(["run", str(experiment), "--out", str(out), "--quiet"], brownout_env, timeout=120)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    results = json.loads((out / "results.json").read_text())
    window = next(f for f in results["timeline"]["faults"] if f["fault"] == "slow-embedder-link")
    records = load_records([out / "load" / "records.jsonl"])
    during = records[(records["t_sched"] >= window["injected_at"]) & (records["t_sched"] < window["rolled_back_at"] - 1.6)]
    before = records[records["t_end"] < window["injected_at"]]  # finished before the toxic: cannot have met it
    # The resilient gateway gives up on embeddings after 1 s and answers from keyword retrieval: degraded.
    assert len(before) and (before["outcome"] == "ok").all()
    assert len(during) and (during["outcome"] == "degraded").mean() > 0.8
    # Undone: the gateway talks to the embedder directly again, and the journal says so.
    state = httpx.get(f"{attached_sandbox.control_url}/sandbox/state", timeout=5).json()
    assert state["links"]["embedder"] is None
    undone = {e["id"] for e in journal_entries(tmp_path / "home") if e["type"] == "fault_undone"}
    assert {"slow-embedder-link#0", "setup:sandbox-embedder-link"} <= undone
    wait_for(lambda: not processes_with_marker(str(tmp_path)), 10)
    assert processes_with_marker(str(tmp_path)) == []
