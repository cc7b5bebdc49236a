"""`kubernetes.node-cordon`: mark nodes unschedulable (e.g. a whole zone) and optionally drain them by eviction."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from kubernetes.client import ApiException, V1DeleteOptions, V1Eviction, V1ObjectMeta

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.kubernetes import KubernetesNodeCordon
from brownout.faults.base import FaultHandle, Resolution, ResolvedTarget
from brownout.faults.kubernetes import rails
from brownout.faults.kubernetes.client import (
    REQUEST_TIMEOUT,
    KubeAccess,
    KubeApis,
    connect,
)
from brownout.faults.kubernetes.driver import KubernetesDriver, api_errors
from brownout.faults.kubernetes.readiness import poll_until, ready_pod_count
from brownout.faults.kubernetes.selectors import selector_for
from brownout.faults.selection import pick

__all__ = ["NodeCordonDriver", "skip_reason"]

_MIRROR = "kubernetes.io/config.mirror"


def skip_reason(pod: Any, allowed_namespaces: Sequence[str] | None, allow_kube_system: bool) -> str | None:
    """Why a drain leaves this pod alone (None: evict it). Mirrors `kubectl drain --ignore-daemonsets`,
    minus `--force`: a pod nothing would recreate is never evicted."""
    if not rails.namespace_permitted(pod.metadata.namespace, allowed_namespaces, allow_kube_system):
        return "namespace refused by the safety rails"
    if pod.metadata.deletion_timestamp is not None:
        return "already terminating"
    if _MIRROR in (pod.metadata.annotations or {}):
        return "static pod"
    owner = next((o for o in pod.metadata.owner_references or [] if o.controller), None)
    if owner is None:
        return "unmanaged pod: nothing would recreate it"
    if owner.kind == "DaemonSet":
        return "DaemonSet pod"
    return None


def _pods_on(apis: KubeApis, node: str) -> list[Any]:
    return apis.core.list_pod_for_all_namespaces(
        field_selector=f"spec.nodeName={node}", _request_timeout=REQUEST_TIMEOUT
    ).items


def _set_unschedulable(apis: KubeApis, node: str, value: bool) -> None:
    apis.core.patch_node(node, {"spec": {"unschedulable": value}}, _request_timeout=REQUEST_TIMEOUT)


class NodeCordonDriver(KubernetesDriver):
    """Only nodes that were schedulable at prepare time are cordoned (and drained); rollback
    uncordons exactly those, so a node an operator had already cordoned stays as it was."""

    kind = "kubernetes.node-cordon"
    spec: KubernetesNodeCordon

    def _plan(self) -> tuple[list[Any], list[Any], dict[str, list[Any]]]:
        """Matching nodes, the chosen ones, and (to drain) the pods on each chosen schedulable node."""
        spec = self.spec
        rails.check_selector(spec.node_selector, "node selector")
        with connect(self.access) as apis, api_errors(InjectError, f"listing nodes '{spec.node_selector}'"):
            matching = apis.core.list_node(label_selector=spec.node_selector, _request_timeout=REQUEST_TIMEOUT).items
            rails.check_matches(len(matching), f"node selector '{spec.node_selector}'")
            total = len(apis.core.list_node(_request_timeout=REQUEST_TIMEOUT).items)
            by_name = {n.metadata.name: n for n in matching}
            picked = pick(sorted(by_name), spec.select, seed=self.context.seed, salt=spec.name)  # max-share of matches
            chosen = [by_name[n] for n in sorted(picked)]
            rails.check_cluster_share(len(chosen), total, spec.max_cluster_share)
            pods = {
                n.metadata.name: _pods_on(apis, n.metadata.name)
                for n in chosen
                if spec.drain and not n.spec.unschedulable
            }
        return matching, chosen, pods

    def _evictable(self, pods: list[Any]) -> list[Any]:
        return [p for p in pods if skip_reason(p, self.spec.allowed_namespaces, self.spec.allow_kube_system) is None]

    def _grace_seconds(self) -> int | None:
        grace = self.spec.drain_grace_period
        return None if grace is None else math.ceil(grace)

    def resolve(self) -> Resolution:
        matching, chosen, pods = self._plan()
        fresh = [n for n in chosen if not n.spec.unschedulable]
        action = f"cordon {len(fresh)} of {len(matching)} nodes matching '{self.spec.node_selector}'"
        if self.spec.drain:
            action += f" and evict {sum(len(self._evictable(p)) for p in pods.values())} pods"
        targets = []
        for node in chosen:
            detail: dict[str, Any] = {"already_cordoned": bool(node.spec.unschedulable)}
            if node.metadata.name in pods:
                on_node = pods[node.metadata.name]
                detail["evict"] = [f"{p.metadata.namespace}/{p.metadata.name}" for p in self._evictable(on_node)]
                detail["pods_left_alone"] = len(on_node) - len(detail["evict"])
            targets.append(ResolvedTarget("node", node.metadata.name, detail))
        return Resolution(fault=self.spec.name, kind=self.kind, action=action, targets=targets, candidates=len(matching))

    def prepare(self) -> FaultHandle:
        _, chosen, pods = self._plan()
        return FaultHandle(
            fault=self.spec.name,
            kind=self.kind,
            data={
                "access": self.access.to_dict(),
                "cordon": [n.metadata.name for n in chosen if not n.spec.unschedulable],
                "pre_cordoned": [n.metadata.name for n in chosen if n.spec.unschedulable],
                "drain": self.spec.drain,
                "grace_period_seconds": self._grace_seconds(),
                "allowed_namespaces": self.spec.allowed_namespaces,
                "allow_kube_system": self.spec.allow_kube_system,
                "workloads": self._workload_groups([p for on_node in pods.values() for p in self._evictable(on_node)]),
            },
        )

    def _workload_groups(self, evictable: list[Any]) -> list[dict[str, Any]]:
        """The label sets of pods a drain would evict, with how many such pods are Ready now:
        `wait_ready` waits until each set is back to that count, wherever its pods run."""
        keys = sorted({(p.metadata.namespace, selector_for(p.metadata.labels or {})) for p in evictable})
        if not keys:
            return []
        with connect(self.access) as apis, api_errors(InjectError, "counting Ready pods of the workloads to drain"):
            return [
                {"namespace": ns, "label_selector": sel, "ready_before": ready_pod_count(apis.core, ns, sel)}
                for ns, sel in keys
            ]

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        cordoned: list[str] = []
        result: dict[str, Any] = {"cordoned": cordoned, "evicted": [], "blocked": [], "skipped": []}
        with connect(KubeAccess.from_dict(data["access"])) as apis:
            for node in data["cordon"]:
                with api_errors(InjectError, f"cordoning node {node} (cordoned before it: {', '.join(cordoned) or 'none'})"):
                    _set_unschedulable(apis, node, True)
                cordoned.append(node)
            if data["drain"]:
                for node in data["cordon"]:
                    with api_errors(InjectError, f"draining node {node}"):
                        self._drain(apis, node, data, result)
        return result

    @staticmethod
    def _drain(apis: KubeApis, node: str, data: dict[str, Any], result: dict[str, Any]) -> None:
        """Evict (never delete) so PodDisruptionBudgets get their say; a 429 means a budget blocked it."""
        for pod in _pods_on(apis, node):
            ref = f"{pod.metadata.namespace}/{pod.metadata.name}"
            if skip_reason(pod, data["allowed_namespaces"], data["allow_kube_system"]) is not None:
                result["skipped"].append(ref)
                continue
            eviction = V1Eviction(
                metadata=V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace),
                delete_options=V1DeleteOptions(grace_period_seconds=data["grace_period_seconds"]),
            )
            try:
                apis.core.create_namespaced_pod_eviction(
                    pod.metadata.name, pod.metadata.namespace, eviction, _request_timeout=REQUEST_TIMEOUT
                )
            except ApiException as exc:
                if exc.status == 404:
                    continue
                if exc.status != 429:
                    raise
                result["blocked"].append(ref)
                continue
            result["evicted"].append(ref)

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        uncordoned, missing = [], []
        with connect(KubeAccess.from_dict(data["access"])) as apis:
            for node in data["cordon"]:
                with api_errors(RollbackError, f"uncordoning node {node}"):
                    try:
                        current = apis.core.read_node(node, _request_timeout=REQUEST_TIMEOUT)
                    except ApiException as exc:
                        if exc.status != 404:
                            raise
                        missing.append(node)
                        continue
                    if current.spec.unschedulable:
                        _set_unschedulable(apis, node, False)
                uncordoned.append(node)
        return {"uncordoned": uncordoned, "missing": missing, "left_as_found": data["pre_cordoned"]}

    @classmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float, clock: Callable[[], float] = time.time) -> float | None:
        """Ready when the nodes are schedulable again and every drained workload has its Ready pods back."""
        data = handle.data
        with connect(KubeAccess.from_dict(data["access"])) as apis:

            def recovered() -> bool:
                nodes = {n.metadata.name: n for n in apis.core.list_node(_request_timeout=REQUEST_TIMEOUT).items}
                if any(nodes[n].spec.unschedulable for n in data["cordon"] if n in nodes):
                    return False
                return all(
                    ready_pod_count(apis.core, g["namespace"], g["label_selector"]) >= g["ready_before"]
                    for g in data["workloads"]
                )

            return poll_until(recovered, timeout, clock)
