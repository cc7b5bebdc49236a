"""The kill matrix: SIGKILL a real run at each kill point for each fault kind on the sandbox, then `recover`.

Kill points, each hit deliberately with the `BROWNOUT_TEST_HOLD` hook (no sleeping for a moment):
- `spawn`: a child the run needs is held in its spawn window (the stream proxy or embedded
  Toxiproxy when the fault needs one, else the load process); the run is killed, the child released;
- `after-inject`: the fault is journaled applied;
- `mid-rollback`: the runner is held just before it undoes the fault.
After the kill and one `recover`, nothing may be left: no process of the run, no fault on the
sandbox, and no stale journal for a second `recover`.

Every run attaches to one sandbox per module (started once; faults on it outlive the run, so
leftovers are visible). The default suite runs 4 cases (every kill point, every kind of child);
`pytest -m killmatrix` runs the other 17 of the 7 kinds x 3 points.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from brownout.experiments.journal import stale_journals
from brownout.experiments.rollback import recover_stale
from brownout.processes import pid_alive
from tests.e2e.conftest import journal_entries, popen_brownout, processes_with_marker, wait_for
from tests.support.sandboxes import detached_sandbox

pytestmark = pytest.mark.slow

FAULTS = {
    "sandbox.gpu-oom": "{name: f, kind: sandbox.gpu-oom, gpu_memory: 64MiB, select: {mode: one}, SCHEDULE}",
    "sandbox.region-down": "{name: f, kind: sandbox.region-down, region: us-east, SCHEDULE}",
    "sandbox.slow-embeddings": "{name: f, kind: sandbox.slow-embeddings, latency: 300ms, SCHEDULE}",
    "sandbox.replica-kill": "{name: f, kind: sandbox.replica-kill, select: {mode: one}, SCHEDULE}",
    "stream.fault": "{name: f, kind: stream.fault, mode: cut, share: 0.5, after_tokens: 2, SCHEDULE}",
    "network.toxic": "{name: f, kind: network.toxic, proxy: sandbox-embedder, toxic: {type: latency, latency: 100ms}, SCHEDULE}",
    "network.proxy-down": "{name: f, kind: network.proxy-down, proxy: sandbox-embedder, SCHEDULE}",
}
SPAWNED = {"stream.fault": "stream-proxy", "network.toxic": "embedded-toxiproxy", "network.proxy-down": "embedded-toxiproxy"}
POINTS = ("spawn", "after-inject", "mid-rollback")
DEFAULT = {  # every kill point, and each kind of child a fault needs (load process, stream proxy, embedded Toxiproxy)
    ("sandbox.gpu-oom", "spawn"), ("sandbox.gpu-oom", "after-inject"),
    ("stream.fault", "mid-rollback"), ("network.toxic", "spawn"),
}
CASES = [pytest.param(kind, point, id=f"{kind}-{point}",
                      marks=() if (kind, point) in DEFAULT else pytest.mark.killmatrix)
         for kind in FAULTS for point in POINTS]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with detached_sandbox(tmp_path_factory.mktemp("sb"), regions=["us-east", "eu-west"], replicas_per_region=1,
                          cold_start=0.5) as handle:
        yield handle


def _experiment(tmp_path: Path, control_url: str, kind: str) -> str:
    fault = FAULTS[kind].replace("SCHEDULE", "schedule: {start: 0s, duration: 1s}")
    path = tmp_path / "kill.yaml"
    path.write_text(textwrap.dedent(f"""\
        apiVersion: brownout/v1
        kind: Experiment
        metadata: {{name: kill-matrix}}
        target: {{sandbox: {{attach: "{control_url}"}}}}
        load:
          arrival: {{kind: constant, rate: 4/s}}
          dataset: {{kind: synthetic, output_tokens: {{mean: 4}}}}
          timeout: 3s
          drain: 1s
        phases: {{warmup: 0s, baseline: 1s, fault: 2s, recovery: 1s}}
        steady_state: {{recheck_after_recovery: false}}
        rollback: {{wait_ready: false}}
        faults: [{fault}]
    """))
    return str(path)


def _leftovers(control_url: str) -> list[str]:
    """What a fault could have left on the sandbox; replica restarts are the supervisor's job, not a leftover."""
    state = httpx.get(f"{control_url}/sandbox/state", timeout=5).json()
    found = [f"{c['name']} gpu {c['gpu_memory']}" for c in state["components"]
             if c["role"] == "replica" and c["gpu_memory"] != c["gpu_memory_total"]]
    found += [f"region {r} {s}" for r, s in state["regions"].items() if s != "up"]
    found += [f"embedder latency {state['embedder_latency']}"] if state["embedder_latency"]["latency"] else []
    found += [f"embedder link via {state['links']['embedder']}"] if state["links"]["embedder"] else []
    return found


@pytest.mark.parametrize(("kind", "point"), CASES)
def test_nothing_is_left_behind_after_a_sigkill_and_recover(kind, point, sandbox, brownout_env, tmp_path):
    hold = tmp_path / "hold"
    hold.mkdir()
    held_name = {"spawn": SPAWNED.get(kind, "load"), "mid-rollback": "rollback"}.get(point)
    env = {**brownout_env, "BROWNOUT_TEST_HOLD": f"{held_name}@{hold}"} if held_name else brownout_env
    home = tmp_path / "home"
    proc = popen_brownout(["run", _experiment(tmp_path, sandbox.control_url, kind), "--out", str(tmp_path / "out")], env)
    if held_name:
        reached = lambda: list(hold.glob(f"{held_name}.*.held"))  # noqa: E731
    else:
        reached = lambda: any(e["type"] == "fault_applied" and e["id"].startswith("f") for e in journal_entries(home))  # noqa: E731
    if not wait_for(lambda: reached() or proc.poll() is not None, 60) or not reached():
        proc.kill()
        pytest.fail(f"never reached {point}:\n{proc.communicate()[0]}")
    proc.kill()
    proc.communicate(timeout=30)
    if point == "spawn":  # the child was journaled the moment it existed, before it was ready
        [held] = [int(p.name.split(".")[1]) for p in hold.glob(f"{held_name}.*.held")]
        assert held in [p for e in journal_entries(home) if e["type"] == "process_started" for p in e["pids"]]
    (hold / "release").touch()  # a held child resumes, sees its parent is gone and exits
    if point == "spawn":
        assert wait_for(lambda: not pid_alive(held), 15), f"{held_name} outlived a parent that died during its spawn"
        if held_name == "load":
            assert not (tmp_path / "out" / "load" / "records.jsonl").exists()  # it sent nothing

    reports = recover_stale(home, retries=2, backoff=0.2)
    assert all(r.ok for r in reports), [(u.fault, u.error) for r in reports for u in r.undone]
    assert wait_for(lambda: not processes_with_marker(str(tmp_path)), 15), processes_with_marker(str(tmp_path))
    assert _leftovers(sandbox.control_url) == []
    assert stale_journals(home) == []  # a second recover finds nothing
