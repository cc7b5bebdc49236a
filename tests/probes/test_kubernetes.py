"""The Kubernetes probe, driven by the official client against the stateful fake API server."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from kubernetes import client as k8s

from brownout.errors import ProbeError
from brownout.spec.probes import KubernetesProbe
from brownout.rundata.clock import RunClock
from brownout.probes.kube import KubernetesCheck
from brownout.rundata.probes import ProbeResult
from brownout.probes.target import ProbeTarget
from brownout.processes import free_port
from tests.fakes.kube_api import FakeKubeApi, FakeKubeSettings

TOKEN_ENV = "BROWNOUT_TEST_KUBE_TOKEN"


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "fake-token")
    with FakeKubeApi(FakeKubeSettings(token="fake-token", recreate_delay=30.0)) as api:
        api.add_node("gpu-1")
        api.add_deployment("ai", "llm", replicas=2, labels={"app": "llm"})
        api.add_statefulset("ai", "vectordb", replicas=1, labels={"app": "vectordb"})
        yield api


def run(api_url: str, workload: str, min_ready: int, timeout: float = 3.0, namespace: str = "ai") -> ProbeResult:
    spec = KubernetesProbe(
        name="kube", kind="kubernetes", api_url=api_url, token_env=TOKEN_ENV, workload=workload,
        namespace=namespace, min_ready=min_ready, timeout=timeout,
    )

    async def once() -> ProbeResult:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await KubernetesCheck(spec).run(client, ProbeTarget(base_url="http://127.0.0.1:9", clock=RunClock()))

    return asyncio.run(once())


@pytest.mark.parametrize("workload, ready", [("deployment/llm", 2), ("statefulset/vectordb", 1)])
def test_ready_replicas_pass(fake, workload, ready):
    result = run(fake.url, workload, min_ready=ready)
    assert (result.ok, result.reason, result.value) == (True, "ok", float(ready))


def test_too_few_ready_fails(fake):
    with fake.api_client() as api_client:
        k8s.AppsV1Api(api_client).patch_namespaced_deployment_scale("llm", "ai", {"spec": {"replicas": 1}})
    assert fake.wait_for(lambda f: len([p for p in f.pods("ai", "app=llm") if "deletionTimestamp" not in p["metadata"]]) == 1)
    result = run(fake.url, "deployment/llm", min_ready=2)
    assert (result.ok, result.value) == (False, 1.0)
    assert result.reason == "ready replicas 1 < 2 (deployment/llm in ai)"


def test_missing_workload_fails_with_status(fake):
    result = run(fake.url, "deployment/nope", min_ready=1)
    assert not result.ok and result.reason.startswith("status 404: "), result.reason
    assert result.reason.endswith("(deployment/nope in ai)")


def test_wrong_token_fails_with_401(fake, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "wrong")
    result = run(fake.url, "deployment/llm", min_ready=1)
    assert not result.ok and result.reason.startswith("status 401"), result.reason


def test_missing_token_is_a_probe_error(fake, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(ProbeError, match=TOKEN_ENV):
        run(fake.url, "deployment/llm", min_ready=1)


def test_api_down_is_connection_refused(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "fake-token")
    result = run(f"http://127.0.0.1:{free_port()}", "deployment/llm", min_ready=1)
    assert (result.ok, result.reason, result.latency) == (False, "connection refused", None)


def test_api_hanging_times_out(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "fake-token")
    with socket.socket() as silent:  # accepts connections (kernel backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        result = run(f"http://127.0.0.1:{silent.getsockname()[1]}", "deployment/llm", min_ready=1, timeout=0.5)
    assert (result.ok, result.reason, result.latency) == (False, "timeout after 500ms", None)
