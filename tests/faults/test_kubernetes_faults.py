"""Kubernetes fault drivers against the stateful fake API server, through the official client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brownout.errors import InjectError, RefusedError, TargetError
from brownout.spec.faults.kubernetes import (
    KubernetesNodeCordon,
    KubernetesPodKill,
    KubernetesScaleDown,
)
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.kubernetes import NodeCordonDriver, PodKillDriver, ScaleDownDriver
from brownout.faults.registry import DRIVERS
from tests.fakes.kube_api import FakeKubeApi, FakeKubeSettings

TOKEN_ENV = "BROWNOUT_TEST_KUBE_TOKEN"
TOKEN = "s3cret-test-token"
CONTEXT = FaultContext(seed=11)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[FakeKubeApi]:
    """Five nodes in zones a, b, c; a test may override settings with indirect parametrization."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    settings = {"token": TOKEN, "recreate_delay": 0.2, "cold_start": 0.4, **getattr(request, "param", {})}
    with FakeKubeApi(FakeKubeSettings(**settings)) as api:
        for name, zone in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b"), ("c1", "c")):
            api.add_node(name, {"topology.kubernetes.io/zone": zone})
        yield api


def access(fake: FakeKubeApi) -> dict[str, Any]:
    return {"api_url": fake.url, "token_env": TOKEN_ENV}


def pod_kill(fake: FakeKubeApi, **fields: Any) -> PodKillDriver:
    spec = {"kind": "kubernetes.pod-kill", "name": "kill-vllm", "namespace": "ml", "label_selector": "app=vllm", **fields}
    return PodKillDriver(KubernetesPodKill(**access(fake), **spec), CONTEXT)


def scale_down(fake: FakeKubeApi, **fields: Any) -> ScaleDownDriver:
    spec = {"kind": "kubernetes.scale-down", "name": "shrink", "namespace": "ml", **fields}
    return ScaleDownDriver(KubernetesScaleDown(**access(fake), **spec), CONTEXT)


def cordon(fake: FakeKubeApi, **fields: Any) -> NodeCordonDriver:
    spec = {"kind": "kubernetes.node-cordon", "name": "zone-a", "node_selector": "topology.kubernetes.io/zone=a", **fields}
    return NodeCordonDriver(KubernetesNodeCordon(**access(fake), **spec), CONTEXT)


def writes(fake: FakeKubeApi) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.log if r.method != "GET"]


def live(fake: FakeKubeApi, namespace: str = "ml") -> list[dict]:
    return [p for p in fake.pods(namespace) if "deletionTimestamp" not in p["metadata"]]


def test_registry_knows_the_kinds() -> None:
    assert DRIVERS["kubernetes.pod-kill"] is PodKillDriver
    assert DRIVERS["kubernetes.scale-down"] is ScaleDownDriver
    assert DRIVERS["kubernetes.node-cordon"] is NodeCordonDriver


def test_pod_kill_with_grace_then_recreated(fake: FakeKubeApi) -> None:
    fake.add_deployment("ml", "vllm", 4, {"app": "vllm"}, grace=1)
    driver = pod_kill(fake, select={"mode": "count", "count": 2}, grace_period="1s")
    resolution = driver.resolve()
    assert resolution.candidates == 4 and len(resolution.targets) == 2
    assert "delete 2 of 4 pods" in resolution.action and "grace 1s" in resolution.action
    assert [t.name for t in pod_kill(fake, select={"mode": "count", "count": 2}).resolve().targets] == [
        t.name for t in resolution.targets
    ]  # same seed and fault name: same pick
    assert writes(fake) == []                                                   # resolve touches nothing

    handle = driver.prepare()
    assert handle.data["ready_before"] == 4 and TOKEN not in json.dumps(handle.to_dict())
    t_inject = time.time()
    result = driver.inject(handle)
    assert sorted(result["deleted"]) == sorted(handle.data["pods"])
    deletes = [r for r in fake.log if r.method == "DELETE"]
    assert [d.body["gracePeriodSeconds"] for d in deletes] == [1, 1]
    assert {d.body["preconditions"]["uid"] for d in deletes} == set(handle.data["pods"].values())
    terminating = {p["metadata"]["name"] for p in fake.pods("ml") if "deletionTimestamp" in p["metadata"]}
    assert terminating == set(handle.data["pods"])                              # graceful: Terminating first

    assert PodKillDriver.rollback(handle)["undone"] is False
    recovered = PodKillDriver.wait_ready(handle, timeout=10)
    assert recovered is not None and t_inject < recovered <= time.time()
    names = {p["metadata"]["name"] for p in fake.pods("ml")}
    assert len(names) == 4 and not names & set(handle.data["pods"])
    assert all(p["status"]["phase"] == "Running" for p in fake.pods("ml"))


def test_pod_kill_force_removes_at_once(fake: FakeKubeApi) -> None:
    fake.add_deployment("ml", "vllm", 3, {"app": "vllm"}, grace=30)
    driver = pod_kill(fake, force=True)
    handle = driver.prepare()
    driver.inject(handle)
    (victim,) = handle.data["pods"]
    assert victim not in {p["metadata"]["name"] for p in fake.pods("ml")}       # no 30s Terminating phase
    assert [r.body["gracePeriodSeconds"] for r in fake.log if r.method == "DELETE"] == [0]
    t_killed = time.time()
    recovered = PodKillDriver.wait_ready(handle, timeout=10)
    assert recovered is not None and t_killed <= recovered <= time.time()
    again = driver.inject(handle)                                               # the pod is gone: nothing to do
    assert again == {"deleted": [], "already_gone": [victim], "grace_period_seconds": 0}


def test_pod_kill_spares_a_statefulset_pod_that_reused_the_name(fake: FakeKubeApi) -> None:
    fake.add_statefulset("ml", "db", 3, {"app": "db"})
    driver = pod_kill(fake, label_selector="app=db", force=True)
    handle = driver.prepare()
    driver.inject(handle)
    (victim,) = handle.data["pods"]
    assert fake.wait_for(lambda f: victim in {p["metadata"]["name"] for p in live(f)}, timeout=5)
    assert driver.inject(handle)["already_gone"] == [victim]                    # uid precondition: 409, spared
    assert victim in {p["metadata"]["name"] for p in live(fake)}


@pytest.mark.parametrize(("resource", "field"), [("deployments", "deployment"), ("statefulsets", "statefulset")])
def test_scale_down_and_restore(fake: FakeKubeApi, resource: str, field: str) -> None:
    add = fake.add_deployment if resource == "deployments" else fake.add_statefulset
    add("ml", "llm", 4, {"app": "llm"})
    driver = scale_down(fake, **{field: "llm"}, replicas=1)
    assert driver.resolve().action == f"scale {field} ml/llm from 4 to 1 replicas"
    handle = driver.prepare()
    assert handle.data["original_replicas"] == 4
    assert driver.inject(handle) == {"from": 4, "to": 1}
    assert fake.replicas(resource, "ml", "llm") == 1
    assert fake.wait_for(lambda f: len(live(f)) == 1, timeout=5)
    if resource == "statefulsets":
        assert [p["metadata"]["name"] for p in live(fake)] == ["llm-0"]        # highest ordinals go first

    t_rollback = time.time()
    assert ScaleDownDriver.rollback(handle) == {"restored": True, "replicas": 4}
    patches = len([w for w in writes(fake) if w.startswith("PATCH")])
    assert ScaleDownDriver.rollback(handle) == {"restored": True, "replicas": 4}  # idempotent, and no second write
    assert len([w for w in writes(fake) if w.startswith("PATCH")]) == patches == 2
    assert fake.replicas(resource, "ml", "llm") == 4
    recovered = ScaleDownDriver.wait_ready(handle, timeout=10)
    assert recovered is not None and recovered >= t_rollback + 0.4            # at least one cold start later
    assert len([p for p in live(fake) if p["status"]["phase"] == "Running"]) == 4


def test_scale_down_refuses_a_scale_up_and_a_missing_workload(fake: FakeKubeApi) -> None:
    fake.add_deployment("ml", "llm", 2, {"app": "llm"})
    with pytest.raises(InjectError, match="would not remove any"):
        scale_down(fake, deployment="llm", replicas=2).resolve()
    with pytest.raises(RefusedError, match="no-targets"):
        scale_down(fake, deployment="ghost", replicas=0).resolve()


def test_cordon_leaves_precordoned_nodes_alone(fake: FakeKubeApi) -> None:
    fake.add_node("a3", {"topology.kubernetes.io/zone": "a"}, unschedulable=True)  # an operator's cordon
    driver = cordon(fake)
    resolution = driver.resolve()
    assert resolution.action == "cordon 2 of 3 nodes matching 'topology.kubernetes.io/zone=a'"
    handle = driver.prepare()
    assert (handle.data["cordon"], handle.data["pre_cordoned"]) == (["a1", "a2"], ["a3"])
    assert driver.inject(handle)["cordoned"] == ["a1", "a2"]
    assert all(fake.node(n)["spec"].get("unschedulable") for n in ("a1", "a2", "a3"))
    assert not fake.node("b1")["spec"].get("unschedulable")

    for _ in range(2):                                                          # rollback twice is fine
        assert NodeCordonDriver.rollback(handle) == {"uncordoned": ["a1", "a2"], "missing": [], "left_as_found": ["a3"]}
    assert not any(fake.node(n)["spec"].get("unschedulable") for n in ("a1", "a2"))
    assert fake.node("a3")["spec"]["unschedulable"] is True
    recovered = NodeCordonDriver.wait_ready(handle, timeout=5)
    assert recovered is not None and recovered <= time.time()


def test_drain_evicts_and_pods_reschedule(fake: FakeKubeApi) -> None:
    fake.add_deployment("ml", "vllm", 5, {"app": "vllm"}, grace=1)             # one pod per node
    fake.add_pod("ml", "agent-a1", {"app": "agent"}, "a1", owner_kind="DaemonSet")
    fake.add_pod("ml", "debug-a2", {"app": "debug"}, "a2")                      # unmanaged: would not come back
    fake.add_pod("kube-system", "dns-a1", {"k8s-app": "dns"}, "a1", owner_kind="ReplicaSet")
    on_a = {p["metadata"]["name"] for p in fake.pods("ml", "app=vllm") if p["spec"]["nodeName"] in ("a1", "a2")}
    assert len(on_a) == 2

    driver = cordon(fake, drain=True, drain_grace_period="1s")
    resolution = driver.resolve()
    assert "and evict 2 pods" in resolution.action
    handle = driver.prepare()
    assert handle.data["workloads"] == [{"namespace": "ml", "label_selector": "app=vllm,pod-template-hash="
                                         + fake.pods("ml", "app=vllm")[0]["metadata"]["labels"]["pod-template-hash"],
                                         "ready_before": 5}]
    result = driver.inject(handle)
    assert sorted(result["evicted"]) == sorted(f"ml/{n}" for n in on_a)
    assert sorted(result["skipped"]) == ["kube-system/dns-a1", "ml/agent-a1", "ml/debug-a2"]
    evictions = [r for r in fake.log if r.path.endswith("/eviction")]
    assert all(r.method == "POST" and r.body["deleteOptions"]["gracePeriodSeconds"] == 1 for r in evictions)

    def rescheduled(f: FakeKubeApi) -> bool:
        pods = live(f)
        vllm = [p for p in pods if p["metadata"]["labels"]["app"] == "vllm"]
        return len(vllm) == 5 and all(p["status"]["phase"] == "Running" for p in vllm)

    assert fake.wait_for(rescheduled, timeout=10)
    replacements = [p for p in live(fake) if p["metadata"]["labels"]["app"] == "vllm" and p["metadata"]["name"] not in on_a]
    assert all(p["spec"]["nodeName"] not in ("a1", "a2") for p in replacements)  # never onto cordoned nodes
    assert {"agent-a1", "debug-a2"} <= {p["metadata"]["name"] for p in fake.pods("ml")}
    t_rollback = time.time()
    NodeCordonDriver.rollback(handle)
    recovered = NodeCordonDriver.wait_ready(handle, timeout=10)
    assert recovered is not None and t_rollback <= recovered <= time.time()


@pytest.mark.parametrize("fake", [{"cold_start": 1.5}], indirect=True)  # longer than the rollback's API calls
def test_drain_with_nowhere_to_go_leaves_pods_pending_until_rollback(fake: FakeKubeApi) -> None:
    fake.add_deployment("ml", "vllm", 2, {"app": "vllm"}, grace=1)
    driver = cordon(fake, node_selector="topology.kubernetes.io/zone", drain=True, max_cluster_share=1.0)
    handle = driver.prepare()
    assert len(handle.data["cordon"]) == 5
    driver.inject(handle)
    assert fake.wait_for(lambda f: len(live(f)) == 2 and all(p["status"]["phase"] == "Pending" for p in live(f)), 10)
    time.sleep(0.5)
    assert all(not p["spec"].get("nodeName") for p in live(fake))               # still nowhere to schedule
    assert NodeCordonDriver.wait_ready(handle, timeout=0.5) is None             # not recovered while cordoned
    t_rollback = time.time()
    NodeCordonDriver.rollback(handle)
    recovered = NodeCordonDriver.wait_ready(handle, timeout=10)
    assert recovered is not None and recovered > t_rollback
    assert [p["status"]["phase"] for p in live(fake)] == ["Running", "Running"]   # ready means Running, not scheduled


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (lambda f: pod_kill(f, namespace="kube-system"), "kube-system"),
        (lambda f: pod_kill(f, allowed_namespaces=["staging"]), "namespace-allowlist"),
        (lambda f: pod_kill(f, label_selector=" "), "selector-empty"),
        (lambda f: pod_kill(f, label_selector="app!=db,tier notin (cpu)"), "selector-match-all"),
        (lambda f: pod_kill(f, label_selector="app=nothing"), "no-targets"),
        (lambda f: pod_kill(f, select={"mode": "all"}), "max-share"),
        (lambda f: scale_down(f, namespace="kube-system", deployment="vllm", replicas=0), "kube-system"),
        (lambda f: scale_down(f, allowed_namespaces=["prod"], deployment="vllm", replicas=0), "namespace-allowlist"),
        (lambda f: cordon(f, node_selector=""), "selector-empty"),
        (lambda f: cordon(f, node_selector="!gpu"), "selector-match-all"),
        (lambda f: cordon(f, node_selector="topology.kubernetes.io/zone=z"), "no-targets"),
        (lambda f: cordon(f, node_selector="topology.kubernetes.io/zone in (a,b)"), "max-cluster-share"),
        (lambda f: cordon(f, select={"mode": "all", "max_share": 0.5}), "max-share"),
    ],
)
def test_safety_rails_refuse_before_touching_anything(fake: FakeKubeApi, make: Any, rule: str) -> None:
    fake.add_deployment("ml", "vllm", 3, {"app": "vllm"})
    fake.add_deployment("kube-system", "coredns", 2, {"app": "vllm"})
    driver = make(fake)
    for step in (driver.resolve, driver.prepare):
        with pytest.raises(RefusedError) as refused:
            step()
        assert refused.value.rule == rule and f"'{rule}'" in str(refused.value)
    assert writes(fake) == []


def test_kube_system_allowed_when_the_spec_says_so(fake: FakeKubeApi) -> None:
    fake.add_deployment("kube-system", "coredns", 2, {"k8s-app": "dns"})
    driver = pod_kill(fake, namespace="kube-system", label_selector="k8s-app=dns", allow_kube_system=True)
    assert len(driver.resolve().targets) == 1


def test_credentials_are_checked(fake: FakeKubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.add_deployment("ml", "vllm", 2, {"app": "vllm"})
    monkeypatch.setenv(TOKEN_ENV, "wrong")
    with pytest.raises(InjectError, match="HTTP 401"):
        pod_kill(fake).resolve()
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(TargetError, match=TOKEN_ENV):
        pod_kill(fake).resolve()


_HARNESS = textwrap.dedent(
    """
    import json, sys, time
    from brownout.processes import die_with_parent
    from brownout.spec.faults import Fault
    from brownout.faults.base import FaultContext
    from brownout.faults.registry import DRIVERS
    from pydantic import TypeAdapter

    die_with_parent()
    handles = []
    for raw in json.loads(sys.argv[1]):
        spec = TypeAdapter(Fault).validate_python(raw)
        driver = DRIVERS[spec.kind](spec, FaultContext(seed=3))
        handle = driver.prepare()
        handles.append(handle.to_dict())
        with open(sys.argv[2], "w") as fh:      # the journal's intent record, before anything changes
            json.dump(handles, fh)
        driver.inject(handle)
    print("injected", flush=True)
    time.sleep(60)                              # the harness hangs here until it is killed
    """
)


def test_rollback_from_the_journal_after_the_harness_is_killed(fake: FakeKubeApi, tmp_path: Path) -> None:
    fake.add_deployment("ml", "vllm", 3, {"app": "vllm"})
    fake.add_node("a3", {"topology.kubernetes.io/zone": "a"}, unschedulable=True)
    faults = [
        {"kind": "kubernetes.scale-down", "name": "shrink", "namespace": "ml", "deployment": "vllm", "replicas": 1,
         **access(fake)},
        {"kind": "kubernetes.node-cordon", "name": "zone-a", "node_selector": "topology.kubernetes.io/zone=a",
         **access(fake)},
    ]
    journal = tmp_path / "handles.json"
    env = {**os.environ, "PYTHONPATH": str(REPO), TOKEN_ENV: TOKEN}
    proc = subprocess.Popen([sys.executable, "-c", _HARNESS, json.dumps(faults), str(journal)],
                            stdout=subprocess.PIPE, env=env, cwd=REPO, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "injected"
        assert fake.replicas("deployments", "ml", "vllm") == 1
        assert fake.node("a1")["spec"]["unschedulable"] is True
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    text = journal.read_text()
    assert TOKEN not in text
    for raw in reversed(json.loads(text)):
        handle = FaultHandle.from_dict(raw)
        DRIVERS[handle.kind].rollback(handle)
    assert fake.replicas("deployments", "ml", "vllm") == 3
    assert not fake.node("a1")["spec"].get("unschedulable") and not fake.node("a2")["spec"].get("unschedulable")
    assert fake.node("a3")["spec"]["unschedulable"] is True                    # was cordoned before: left alone
