"""Kubernetes probe: ready replicas of a deployment or statefulset at least `min_ready`.

The official client is synchronous, so each run calls it in a worker thread of the
probe loop; `_request_timeout` bounds that thread even after the asyncio timeout has
given up on it. The client comes from the same factory the Kubernetes faults use
(`KubeAccess`): api_url + token env, else kubeconfig context, else in-cluster.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import urllib3
from kubernetes.client.exceptions import ApiException

from brownout.errors import ProbeError, TargetError
from brownout.spec.probes import KubernetesProbe
from brownout.faults.kubernetes.client import KubeAccess, connect
from brownout.probes.base import CheckFailed, ProbeCheck
from brownout.probes.target import ProbeTarget

__all__ = ["KubernetesCheck"]


def _status_reason(exc: ApiException) -> str:
    try:
        message = json.loads(exc.body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        message = ""
    return f"status {exc.status}: {message or exc.reason}"


class KubernetesCheck(ProbeCheck[KubernetesProbe]):
    kind = "kubernetes"

    def __init__(self, spec: KubernetesProbe) -> None:
        super().__init__(spec)
        self.access = KubeAccess(context=spec.context, api_url=spec.api_url, token_env=spec.token_env, verify_tls=spec.verify_tls)

    def _ready_replicas(self) -> int:
        kind, name = self.spec.workload.split("/", 1)
        try:
            with connect(self.access) as apis:
                read = apis.apps.read_namespaced_deployment if kind == "deployment" else apis.apps.read_namespaced_stateful_set
                workload = read(name, self.spec.namespace, _request_timeout=self.timeout)
        except TargetError as exc:
            raise ProbeError(f"probe '{self.name}': {exc}") from exc
        except ApiException as exc:
            raise CheckFailed(f"{_status_reason(exc)} ({self.spec.workload} in {self.spec.namespace})") from None
        except urllib3.exceptions.TimeoutError as exc:
            raise TimeoutError(str(exc)) from exc
        return int((workload.status and workload.status.ready_replicas) or 0)

    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        ready = await asyncio.get_running_loop().run_in_executor(None, self._ready_replicas)
        if ready < self.spec.min_ready:
            raise CheckFailed(f"ready replicas {ready} < {self.spec.min_ready} ({self.spec.workload} in {self.spec.namespace})", ready)
        return float(ready)
