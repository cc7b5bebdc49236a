"""The fake Kubernetes API server, driven by the official client: selectors, Status errors, the controller."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from brownout.faults.kubernetes.selectors import (
    is_narrowing,
    parse_selector,
    selector_matches,
)
from tests.fakes.kube_api import FakeKubeApi, FakeKubeSettings

LABELS = {"app": "vllm", "tier": "gpu", "zone": "a"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=vllm", True),
        ("app==vllm", True),
        ("app=tgi", False),
        ("app!=tgi", True),
        ("missing!=x", True),          # != matches objects without the key
        ("app=vllm,tier!=cpu", True),
        ("app=vllm,tier!=gpu", False),
        ("zone in (a,b)", True),
        ("zone in (b, c)", False),
        ("zone notin (b,c)", True),
        ("missing notin (b)", True),
        ("app=vllm,tier!=cpu,zone in (x,a)", True),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("example.com/team", False),
    ],
)
def test_selector_matching(selector: str, expected: bool) -> None:
    assert selector_matches(parse_selector(selector), LABELS) is expected


@pytest.mark.parametrize("selector", ["app=", "app in ()", "=x", "a=b,", "zone in (a,b", "a b", "app=va lue"])
def test_selector_syntax_errors(selector: str) -> None:
    if selector == "app=":
        assert parse_selector(selector)[0].values == ("",)  # an empty value is legal
        return
    with pytest.raises(ValueError):
        parse_selector(selector)


def test_narrowing_tells_exclusions_from_picks() -> None:
    assert is_narrowing(parse_selector("app=vllm,zone!=b"))
    assert not is_narrowing(parse_selector("app!=vllm,zone notin (b),!gpu"))
    assert not is_narrowing(parse_selector(""))


@pytest.fixture
def fake() -> Iterator[FakeKubeApi]:
    with FakeKubeApi(FakeKubeSettings(recreate_delay=0.2, cold_start=0.4)) as api:
        api.add_node("node-a", {"zone": "a"})
        api.add_node("node-b", {"zone": "b"})
        yield api


@pytest.fixture
def core(fake: FakeKubeApi) -> Iterator[k8s.CoreV1Api]:
    api_client = fake.api_client()
    try:
        yield k8s.CoreV1Api(api_client)
    finally:
        api_client.close()


def _names(pods: k8s.V1PodList) -> list[str]:
    return sorted(p.metadata.name for p in pods.items)


def test_label_selectors_over_http(fake: FakeKubeApi, core: k8s.CoreV1Api) -> None:
    fake.add_pod("ml", "p1", {"app": "vllm", "tier": "gpu"}, "node-a")
    fake.add_pod("ml", "p2", {"app": "vllm", "tier": "cpu"}, "node-b")
    fake.add_pod("ml", "p3", {"app": "tgi", "tier": "gpu"}, "node-b")
    fake.add_pod("other", "p4", {"app": "vllm", "tier": "gpu"}, "node-a")
    assert _names(core.list_namespaced_pod("ml", label_selector="app=vllm,tier!=cpu")) == ["p1"]
    assert _names(core.list_namespaced_pod("ml", label_selector="tier in (gpu,tpu)")) == ["p1", "p3"]
    assert _names(core.list_namespaced_pod("ml", label_selector="app notin (tgi),!missing")) == ["p1", "p2"]
    assert _names(core.list_pod_for_all_namespaces(label_selector="app=vllm,tier=gpu")) == ["p1", "p4"]
    assert _names(core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-b")) == ["p2", "p3"]
    assert fake.log[-1].query == {"fieldSelector": ["spec.nodeName=node-b"]}
    assert {n.metadata.name for n in core.list_namespace().items} == {"ml", "other"}

    with pytest.raises(k8s.ApiException) as bad:
        core.list_namespaced_pod("ml", label_selector="app in (vllm")
    assert bad.value.status == 400 and json.loads(bad.value.body)["reason"] == "BadRequest"
    with pytest.raises(k8s.ApiException) as unsupported:
        core.list_pod_for_all_namespaces(field_selector="spec.hostname=x")
    assert unsupported.value.status == 400 and "field label not supported" in unsupported.value.body


def test_status_errors_and_auth(fake: FakeKubeApi, core: k8s.CoreV1Api) -> None:
    fake.add_deployment("ml", "vllm", 2, {"app": "vllm"})
    with pytest.raises(k8s.ApiException) as missing:
        core.read_namespaced_pod("nope", "ml")
    status = json.loads(missing.value.body)
    assert (missing.value.status, status["kind"], status["reason"], status["details"]["name"]) == (404, "Status", "NotFound", "nope")

    apps = k8s.AppsV1Api(core.api_client)
    scale = apps.read_namespaced_deployment_scale("vllm", "ml")
    assert (scale.kind, scale.spec.replicas, scale.status.selector) == ("Scale", 2, "app=vllm")
    apps.patch_namespaced_deployment_scale("vllm", "ml", {"spec": {"replicas": 3}})
    with pytest.raises(k8s.ApiException) as stale:   # resourceVersion moved on: optimistic concurrency
        apps.replace_namespaced_deployment_scale("vllm", "ml", scale)
    assert stale.value.status == 409
    with pytest.raises(k8s.ApiException) as invalid:
        apps.patch_namespaced_deployment_scale("vllm", "ml", {"spec": {"replicas": -1}})
    assert invalid.value.status == 422 and json.loads(invalid.value.body)["reason"] == "Invalid"
    assert fake.log[-1].content_type == "application/strategic-merge-patch+json"

    wrong = fake.api_client(token="stolen")
    try:
        with pytest.raises(k8s.ApiException) as denied:
            k8s.CoreV1Api(wrong).list_namespaced_pod("ml")
        assert denied.value.status == 401
    finally:
        wrong.close()


def test_graceful_delete_terminates_then_controller_recreates(fake: FakeKubeApi, core: k8s.CoreV1Api) -> None:
    fake.add_deployment("ml", "vllm", 2, {"app": "vllm"}, grace=1)
    victim = fake.pods("ml")[0]["metadata"]["name"]
    deleted = core.delete_namespaced_pod(victim, "ml", body=k8s.V1DeleteOptions(grace_period_seconds=1))
    assert deleted.metadata.deletion_timestamp is not None
    assert any(p["metadata"]["name"] == victim for p in fake.pods("ml"))       # Terminating, still listed
    # The replacement appears while the victim terminates, Pending first, then Running after the cold start.
    assert fake.wait_for(lambda f: len(f.pods("ml")) == 3, timeout=5)
    new = [p for p in fake.pods("ml") if "deletionTimestamp" not in p["metadata"] and p["status"]["phase"] == "Pending"]
    assert len(new) == 1
    assert fake.wait_for(lambda f: all(p["metadata"]["name"] != victim for p in f.pods("ml")), timeout=5)
    assert fake.wait_for(lambda f: [p["status"]["phase"] for p in f.pods("ml")] == ["Running", "Running"], timeout=5)
    status = k8s.AppsV1Api(core.api_client).read_namespaced_deployment("vllm", "ml").status
    assert (status.replicas, status.ready_replicas) == (2, 2)


def test_uid_precondition_and_unscheduled_pods(fake: FakeKubeApi, core: k8s.CoreV1Api) -> None:
    fake.add_statefulset("ml", "db", 1, {"app": "db"}, grace=1)
    with pytest.raises(k8s.ApiException) as conflict:
        core.delete_namespaced_pod("db-0", "ml", body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid="other")))
    assert conflict.value.status == 409
    for node in ("node-a", "node-b"):
        core.patch_node(node, {"spec": {"unschedulable": True}})
    core.delete_namespaced_pod("db-0", "ml", body=k8s.V1DeleteOptions(grace_period_seconds=0))
    assert fake.wait_for(lambda f: len(f.pods("ml")) == 1, timeout=5)
    time.sleep(0.3)
    (pending,) = fake.pods("ml")
    assert pending["metadata"]["name"] == "db-0" and pending["status"]["phase"] == "Pending"
    assert not pending["spec"].get("nodeName")                                 # nowhere to go
    core.patch_node("node-b", {"spec": {"unschedulable": False}})
    assert "unschedulable" not in fake.node("node-b")["spec"]
    assert fake.wait_for(lambda f: f.pods("ml")[0]["status"]["phase"] == "Running", timeout=5)
    assert fake.pods("ml")[0]["spec"]["nodeName"] == "node-b"
