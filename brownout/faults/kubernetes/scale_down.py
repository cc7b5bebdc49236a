"""`kubernetes.scale-down`: lower a Deployment's or StatefulSet's replicas through the `scale` subresource."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiException

from brownout.errors import InjectError, RefusedError, RollbackError
from brownout.spec.faults.kubernetes import KubernetesScaleDown
from brownout.faults.base import FaultHandle, Resolution, ResolvedTarget
from brownout.faults.kubernetes import rails
from brownout.faults.kubernetes.client import (
    REQUEST_TIMEOUT,
    KubeAccess,
    KubeApis,
    connect,
)
from brownout.faults.kubernetes.driver import KubernetesDriver, api_errors
from brownout.faults.kubernetes.readiness import poll_until

__all__ = ["ScaleDownDriver"]

_METHODS = {  # AppsV1Api method names: read the scale, patch the scale, read the workload
    "deployment": ("read_namespaced_deployment_scale", "patch_namespaced_deployment_scale", "read_namespaced_deployment"),
    "statefulset": ("read_namespaced_stateful_set_scale", "patch_namespaced_stateful_set_scale", "read_namespaced_stateful_set"),
}


def _read_scale(apis: KubeApis, workload: str, name: str, namespace: str) -> Any:
    return getattr(apis.apps, _METHODS[workload][0])(name, namespace, _request_timeout=REQUEST_TIMEOUT)


def _set_replicas(apis: KubeApis, workload: str, name: str, namespace: str, replicas: int) -> None:
    """Write only the scale subresource, so rollback never undoes an unrelated change to the workload."""
    body = {"spec": {"replicas": replicas}}
    getattr(apis.apps, _METHODS[workload][1])(name, namespace, body, _request_timeout=REQUEST_TIMEOUT)


def _read_workload(apis: KubeApis, workload: str, name: str, namespace: str) -> Any:
    return getattr(apis.apps, _METHODS[workload][2])(name, namespace, _request_timeout=REQUEST_TIMEOUT)


class ScaleDownDriver(KubernetesDriver):
    """The handle keeps the replica count seen at prepare time; rollback writes it back."""

    kind = "kubernetes.scale-down"
    spec: KubernetesScaleDown

    @property
    def _workload(self) -> tuple[str, str]:
        spec = self.spec
        return ("deployment", spec.deployment) if spec.deployment else ("statefulset", spec.statefulset or "")

    def _current_replicas(self) -> int:
        spec = self.spec
        rails.check_namespace(spec.namespace, spec.allowed_namespaces, spec.allow_kube_system)
        workload, name = self._workload
        with connect(self.access) as apis, api_errors(InjectError, f"reading {workload} {spec.namespace}/{name}"):
            try:
                scale = _read_scale(apis, workload, name, spec.namespace)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                raise RefusedError("no-targets", f"{workload} {spec.namespace}/{name} does not exist") from exc
        current = scale.spec.replicas or 0
        if spec.replicas >= current:
            raise InjectError(
                f"{workload} {spec.namespace}/{name} has {current} replicas; scaling 'down' to {spec.replicas} would not remove any"
            )
        return current

    def resolve(self) -> Resolution:
        current = self._current_replicas()
        workload, name = self._workload
        return Resolution(
            fault=self.spec.name,
            kind=self.kind,
            action=f"scale {workload} {self.spec.namespace}/{name} from {current} to {self.spec.replicas} replicas",
            targets=[ResolvedTarget(workload, name, {"namespace": self.spec.namespace, "replicas": current})],
            candidates=1,
        )

    def prepare(self) -> FaultHandle:
        workload, name = self._workload
        return FaultHandle(
            fault=self.spec.name,
            kind=self.kind,
            data={
                "access": self.access.to_dict(),
                "namespace": self.spec.namespace,
                "workload": workload,
                "name": name,
                "original_replicas": self._current_replicas(),
                "replicas": self.spec.replicas,
            },
        )

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        with connect(KubeAccess.from_dict(data["access"])) as apis, api_errors(
            InjectError, f"scaling {data['workload']} {data['namespace']}/{data['name']}"
        ):
            _set_replicas(apis, data["workload"], data["name"], data["namespace"], data["replicas"])
        return {"from": data["original_replicas"], "to": data["replicas"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        with connect(KubeAccess.from_dict(data["access"])) as apis, api_errors(
            RollbackError, f"restoring {data['workload']} {data['namespace']}/{data['name']}"
        ):
            try:
                scale = _read_scale(apis, data["workload"], data["name"], data["namespace"])
            except ApiException as exc:
                if exc.status != 404:
                    raise
                return {"restored": False, "note": "the workload no longer exists"}
            if (scale.spec.replicas or 0) != data["original_replicas"]:
                _set_replicas(apis, data["workload"], data["name"], data["namespace"], data["original_replicas"])
        return {"restored": True, "replicas": data["original_replicas"]}

    @classmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float, clock: Callable[[], float] = time.time) -> float | None:
        """Ready when the controller has observed the restored spec and reports that many Ready replicas."""
        data = handle.data
        with connect(KubeAccess.from_dict(data["access"])) as apis:

            def recovered() -> bool:
                obj = _read_workload(apis, data["workload"], data["name"], data["namespace"])
                observed = (obj.status.observed_generation or 0) >= (obj.metadata.generation or 0)
                return observed and (obj.status.ready_replicas or 0) >= data["original_replicas"]

            return poll_until(recovered, timeout, clock)
