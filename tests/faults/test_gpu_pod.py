"""`gpu.memory-hog` in a pod: the official client's exec websocket against the fake API server,
which runs the shipped hog script as a real local process "in the pod"."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from brownout.errors import InjectError, RefusedError
from brownout.spec.faults import GpuMemoryHog
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.gpu import GpuMemoryHogDriver
from brownout.faults.gpu import hog as hog_script
from brownout.processes import pid_alive
from tests.fakes.kube_api import FakeKubeApi, FakeKubeSettings
from tests.faults.test_gpu_hog import rss, wait_gone

TOKEN_ENV = "BROWNOUT_TEST_KUBE_TOKEN"
TOKEN = "gpu-test-token"
MiB = 2**20


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubeApi]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with FakeKubeApi(FakeKubeSettings(token=TOKEN)) as api:
        api.add_node("gpu-1", {"nvidia.com/gpu.present": "true"})
        api.add_deployment("ml", "vllm", 2, {"app": "vllm"})
        assert api.wait_for(lambda f: sum(p["status"]["phase"] == "Running" for p in f.pods("ml")) == 2)
        yield api


@pytest.fixture
def handles() -> Iterator[list[FaultHandle]]:
    """Hogs are daemons outside the test's process tree: stop every one at teardown."""
    made: list[FaultHandle] = []
    try:
        yield made
    finally:
        for handle in made:
            for hog in handle.data.get("hogs", []):
                hog_script.stop(hog["state_file"])


def driver(fake: FakeKubeApi, tmp_path: Path, **fields: Any) -> GpuMemoryHogDriver:
    spec = {"kind": "gpu.memory-hog", "name": "squeeze", "amount": "32MiB", "backend": "host",
            "placement": "kubernetes", "namespace": "ml", "label_selector": "app=vllm",
            "api_url": fake.url, "token_env": TOKEN_ENV, "python": sys.executable, "state_dir": str(tmp_path),
            "max_lifetime": "2m", **fields}
    return GpuMemoryHogDriver(GpuMemoryHog(**spec), FaultContext(seed=3))


def execs(fake: FakeKubeApi) -> list[list[str]]:
    return [r.query["command"] for r in fake.log if r.path.endswith("/exec")]


def test_hog_in_pod_holds_memory_until_rollback(fake: FakeKubeApi, tmp_path: Path, handles: list[FaultHandle]) -> None:
    d = driver(fake, tmp_path)
    resolution = d.resolve()
    assert resolution.candidates == 2 and len(resolution.targets) == 1
    assert resolution.targets[0].detail == {"namespace": "ml", "container": "server"}
    handle = FaultHandle.from_dict(json.loads(json.dumps(d.prepare().to_dict())))
    handles.append(handle)
    assert TOKEN not in json.dumps(handle.to_dict())
    (target,) = handle.data["hogs"]
    assert target["pod"] == resolution.targets[0].name

    (state,) = d.inject(handle)["hogs"]
    command = execs(fake)[-1]
    assert command[:2] == [sys.executable, "-c"] and "--daemon" in command
    assert state["pod"] == target["pod"] and state["bytes"] == 32 * MiB and state["backend"] == "host"
    pid = state["pid"]
    assert pid_alive(pid) and rss(pid) >= 32 * MiB, "the exec returned but no hog holds the memory"
    assert Path(target["state_file"]).exists()

    undone = GpuMemoryHogDriver.rollback(handle)
    assert undone["hogs"][0]["stopped"] is True
    assert execs(fake)[-1][-2:] == ["--stop", target["state_file"]]
    assert wait_gone(pid, 5)
    assert GpuMemoryHogDriver.rollback(handle)["hogs"][0]["stopped"] is False


def test_hog_failure_in_pod_is_an_inject_error(fake: FakeKubeApi, tmp_path: Path) -> None:
    d = driver(fake, tmp_path, backend="cupy")
    with pytest.raises(InjectError, match=r"failed.*cupy not importable"):
        d.inject(d.prepare())


def test_pod_errors_and_rails(fake: FakeKubeApi, tmp_path: Path) -> None:
    with pytest.raises(InjectError, match="no container 'sidecar'"):
        driver(fake, tmp_path, container="sidecar").prepare()
    with pytest.raises(InjectError, match='HTTP 404: pods "nope" not found'):
        driver(fake, tmp_path, label_selector=None, pod="nope").resolve()
    with pytest.raises(RefusedError, match="kube-system"):
        driver(fake, tmp_path, namespace="kube-system").resolve()
    with pytest.raises(RefusedError, match="selector-match-all"):
        driver(fake, tmp_path, label_selector="app!=vllm").resolve()
    missing = driver(fake, tmp_path, python="/nonexistent/python3")
    with pytest.raises(InjectError, match="executable file not found"):
        missing.inject(missing.prepare())


def test_rollback_when_the_pod_is_gone(fake: FakeKubeApi, tmp_path: Path, handles: list[FaultHandle]) -> None:
    d = driver(fake, tmp_path)
    handle = d.prepare()
    handles.append(handle)
    d.inject(handle)
    client = fake.api_client()
    try:
        k8s.CoreV1Api(client).delete_namespaced_pod(handle.data["hogs"][0]["pod"], "ml", grace_period_seconds=0)
    finally:
        client.close()
    assert fake.wait_for(lambda f: handle.data["hogs"][0]["pod"] not in {p["metadata"]["name"] for p in f.pods("ml")})
    result = GpuMemoryHogDriver.rollback(handle)
    assert result["hogs"][0] == {"pod": handle.data["hogs"][0]["pod"], "stopped": False,
                                 "reason": "pod gone, and its hog with it"}
