"""Validation that knows the target: faults that cannot act on it are located errors; commands are printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from brownout.cli import main
from brownout.errors import SpecErrors
from brownout.experiments.loading import load_experiment_text

HEAD = """\
apiVersion: brownout/v1
kind: Experiment
metadata: {name: kinds}
target:
  TARGET
load:
  arrival: {kind: constant, rate: 1/s}
phases: {baseline: 1s, fault: 2s, recovery: 1s}
faults:
"""
ENDPOINT = 'endpoint: {base_url: "http://127.0.0.1:9"}'
SANDBOX = "sandbox: {profile: resilient}"


def load(target: str, faults: str, tail: str = ""):
    return load_experiment_text(HEAD.replace("TARGET", target) + faults + tail, Path("kinds.yaml"), env={})


@pytest.mark.parametrize(("target", "faults", "line", "field", "text"), [
    (ENDPOINT, "  - {name: kill, kind: sandbox.replica-kill}\n", 10, "faults[0].kind",
     "fault 'kill' (sandbox.replica-kill) acts on the embedded sandbox, and the target is an endpoint"),
    (SANDBOX, "  - {name: pods, kind: kubernetes.pod-kill, namespace: ml, label_selector: app=vllm}\n", 10,
     "faults[0].kind", "needs a cluster, and the sandbox target runs none"),
    (ENDPOINT, "  - name: slow\n    kind: network.toxic\n    proxy: sandbox-embedder\n"
               "    toxic: {type: latency, latency: 100ms}\n", 12, "faults[0].proxy", "the sandbox's embedding link"),
])
def test_a_fault_that_cannot_act_on_the_target_is_a_located_error(target, faults, line, field, text):
    with pytest.raises(SpecErrors) as info:
        load(target, faults)
    (error,) = info.value.errors
    assert (error.file, error.line, error.field) == ("kinds.yaml", line, field), error
    assert text in error.message and error.hint


def test_what_each_target_can_take():
    load(SANDBOX, "  - {name: pods, kind: kubernetes.pod-kill, namespace: ml, label_selector: app=vllm, context: prod}\n")
    load(SANDBOX, "  - {name: kill, kind: sandbox.replica-kill}\n")
    spec = load(ENDPOINT, "  - {name: hang, kind: process.pause, select: {port: 8001}}\n"
                          "  - {name: cut, kind: network.proxy-down, proxy: region-b}\n",
                "proxies:\n  - {name: region-b, listen: '127.0.0.1:18002', upstream: '127.0.0.1:8002'}\n").spec
    assert [p.name for p in spec.proxies] == ["region-b"] and spec.proxies[0].enabled
    with pytest.raises(SpecErrors, match="proxy names must be unique; repeated: b"):
        load(ENDPOINT, "  []\n", "proxies:\n  - {name: b, listen: 'localhost:1', upstream: '127.0.0.1:2'}\n"
                                 "  - {name: b, listen: '127.0.0.1:3', upstream: '127.0.0.1:4'}\n")
    with pytest.raises(SpecErrors, match=r"kinds.yaml:12:23: proxies\[0\].listen: ':1' is not HOST:PORT"):
        load(ENDPOINT, "  []\n", "proxies:\n  - {name: b, listen: ':1', upstream: '127.0.0.1:2'}\n")


def test_validate_prints_every_command_the_file_can_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "commands.yaml"
    path.write_text(HEAD.replace("TARGET", ENDPOINT) + """\
  - name: stop-b
    kind: command
    inject: {run: [docker, compose, stop, model-b]}
    rollback: {run: "docker compose start model-b && sleep 1", shell: true}
    check: {run: [sh, -c, "! docker compose ps -q model-b"]}
  - name: kill-a
    kind: process.kill
    select: {pid_file: a.pid}
    restart: {run: [systemctl, start, model-a]}
""")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:5] == [  # then the timeline the run would follow (tests/e2e/test_dry_run.py)
        f"ok: {path}",
        "  runs: fault 'stop-b' inject: docker compose stop model-b",
        "  runs: fault 'stop-b' check: sh -c '! docker compose ps -q model-b'",
        "  runs: fault 'stop-b' rollback: sh -c 'docker compose start model-b && sleep 1'",
        "  runs: fault 'kill-a' restart: systemctl start model-a",
    ], out
