"""`kubernetes.pod-kill`: delete some pods behind a selector and let their controller recreate them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiException, V1DeleteOptions, V1Preconditions

from brownout.errors import InjectError, RefusedError
from brownout.spec.faults.kubernetes import KubernetesPodKill
from brownout.faults.base import FaultHandle, Resolution, ResolvedTarget
from brownout.faults.kubernetes import rails
from brownout.faults.kubernetes.client import (
    REQUEST_TIMEOUT,
    KubeAccess,
    KubeApis,
    connect,
)
from brownout.faults.kubernetes.driver import KubernetesDriver, api_errors
from brownout.faults.kubernetes.readiness import is_pod_ready, poll_until
from brownout.faults.selection import pick

__all__ = ["PodKillDriver"]


class PodKillDriver(KubernetesDriver):
    """Deleting a pod cannot be undone: rollback has nothing to do, and `wait_ready` tells when the
    controller has brought back as many Ready pods as there were before the kill."""

    kind = "kubernetes.pod-kill"
    spec: KubernetesPodKill

    def _grace_seconds(self) -> int | None:
        if self.spec.force:
            return 0
        return None if self.spec.grace_period is None else math.ceil(self.spec.grace_period)

    def _candidates(self, apis: KubeApis) -> list[Any]:
        """Matching pods that are not already being deleted."""
        with api_errors(InjectError, f"listing pods '{self.spec.label_selector}' in {self.spec.namespace}"):
            pods = apis.core.list_namespaced_pod(
                self.spec.namespace, label_selector=self.spec.label_selector, _request_timeout=REQUEST_TIMEOUT
            )
        return [p for p in pods.items if p.metadata.deletion_timestamp is None]

    def _pick(self) -> tuple[list[Any], list[Any]]:
        spec = self.spec
        rails.check_namespace(spec.namespace, spec.allowed_namespaces, spec.allow_kube_system)
        rails.check_selector(spec.label_selector, "label selector")
        with connect(self.access) as apis:
            candidates = self._candidates(apis)
        rails.check_matches(len(candidates), f"label selector '{spec.label_selector}' in namespace {spec.namespace}")
        by_name = {p.metadata.name: p for p in candidates}
        chosen = pick(sorted(by_name), spec.select, seed=self.context.seed, salt=spec.name)  # also the max-share rail
        picked = [by_name[n] for n in sorted(chosen)]
        unowned = [p.metadata.name for p in picked if not _has_controller(p)]
        if unowned and not spec.allow_unowned:
            raise RefusedError(
                "unowned-pods",
                f"pod(s) {', '.join(unowned)} in {spec.namespace} have no owning controller: deleted, they never come "
                "back. Set allow_unowned: true on the fault to delete them anyway")
        return candidates, picked

    def resolve(self) -> Resolution:
        candidates, chosen = self._pick()
        grace = self._grace_seconds()
        how = "force" if grace == 0 else f"grace {grace}s" if grace is not None else "default grace"
        return Resolution(
            fault=self.spec.name,
            kind=self.kind,
            action=f"delete {len(chosen)} of {len(candidates)} pods matching '{self.spec.label_selector}' "
            f"in {self.spec.namespace} ({how})",
            targets=[
                ResolvedTarget("pod", p.metadata.name, {"namespace": self.spec.namespace, "node": p.spec.node_name})
                for p in chosen
            ],
            candidates=len(candidates),
        )

    def prepare(self) -> FaultHandle:
        candidates, chosen = self._pick()
        return FaultHandle(
            fault=self.spec.name,
            kind=self.kind,
            data={
                "access": self.access.to_dict(),
                "namespace": self.spec.namespace,
                "label_selector": self.spec.label_selector,
                "pods": {p.metadata.name: p.metadata.uid for p in chosen},
                "grace_period_seconds": self._grace_seconds(),
                "ready_before": sum(1 for p in candidates if is_pod_ready(p)),
            },
        )

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        deleted, gone = [], []
        with connect(KubeAccess.from_dict(data["access"])) as apis:
            for name, uid in data["pods"].items():
                doing = f"deleting pod {data['namespace']}/{name} (deleted before it: {', '.join(deleted) or 'none'})"
                with api_errors(InjectError, doing):
                    existed = _delete_pod(apis, data["namespace"], name, uid, data["grace_period_seconds"])
                (deleted if existed else gone).append(name)
        return {"deleted": deleted, "already_gone": gone, "grace_period_seconds": data["grace_period_seconds"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        return {"undone": False, "note": "deleted pods are not restored; their controller recreates them"}

    @classmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float, clock: Callable[[], float] = time.time) -> float | None:
        data = handle.data
        killed = set(data["pods"].values())
        with connect(KubeAccess.from_dict(data["access"])) as apis:

            def recovered() -> bool:
                pods = apis.core.list_namespaced_pod(
                    data["namespace"], label_selector=data["label_selector"], _request_timeout=REQUEST_TIMEOUT
                ).items
                if any(p.metadata.uid in killed for p in pods):
                    return False
                return sum(1 for p in pods if is_pod_ready(p)) >= data["ready_before"]

            return poll_until(recovered, timeout, clock)


def _has_controller(pod: Any) -> bool:
    """Whether a controller (ReplicaSet, StatefulSet, DaemonSet, Job...) owns the pod and will recreate it."""
    return any(ref.controller for ref in pod.metadata.owner_references or [])


def _delete_pod(apis: KubeApis, namespace: str, name: str, uid: str, grace: int | None) -> bool:
    """Delete one pod; False when it is already gone or was replaced by a new pod of the same name.

    The uid precondition is what spares the replacement (StatefulSets reuse names).
    """
    options = V1DeleteOptions(
        grace_period_seconds=grace, preconditions=V1Preconditions(uid=uid), propagation_policy="Background"
    )
    try:
        apis.core.delete_namespaced_pod(name, namespace, body=options, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status in (404, 409):
            return False
        raise
    return True
