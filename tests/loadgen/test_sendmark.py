"""t_send is when the request went out, even when other greenlets run between the call and the write."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from brownout.processes import free_port, wait_port

pytestmark = pytest.mark.timeout(60)

HERE = Path(__file__).parent
HOG = 0.3  # send_probe.HOG


@pytest.fixture
def truth_server(tmp_path):
    """The fake server logging its marks (handler start `recv`, on the shared monotonic clock) to a truth file."""
    port, truth = free_port(), tmp_path / "truth.jsonl"
    proc = subprocess.Popen([sys.executable, str(HERE / "fake_llm.py"), str(port), str(truth)], cwd=HERE.parents[1])
    try:
        assert wait_port("127.0.0.1", port, 15), "fake server did not start"
        yield f"http://127.0.0.1:{port}", truth
    finally:
        proc.terminate()
        proc.wait(10)


def _probe(url: str, mode: str) -> list[dict]:
    out = subprocess.run([sys.executable, str(HERE / "send_probe.py"), url, mode], cwd=HERE.parents[1],
                         capture_output=True, text=True, timeout=40, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_t_send_is_taken_when_the_request_goes_out(truth_server):
    url, truth = truth_server
    sent = {r["id"]: r for mode in ("nomarks", "marks") for r in _probe(url, mode)}
    recv = {row["id"]: row["recv"] for row in map(json.loads, truth.read_text().splitlines())}
    assert sorted(sent) == sorted(recv) == ["probe0-0", "probe0-1", "probe1-0", "probe1-1"]
    assert {r["outcome"] for r in sent.values()} == {"ok"}
    # server handler start minus client t_send, both on CLOCK_MONOTONIC (system-wide)
    lead = {rid: recv[rid] - sent[rid]["send"] for rid in sent}
    # a mark taken before the call comes early by the hog (on a new or a pooled connection)
    assert max(lead["probe0-0"], lead["probe0-1"]) >= HOG, lead
    # the send mark is taken once the socket is handed over, after the hog: causal and close
    assert 0 <= lead["probe1-0"] < HOG / 3 and 0 <= lead["probe1-1"] < HOG / 3, lead
