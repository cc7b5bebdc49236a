"""Readiness checks shared by the Kubernetes drivers' `wait_ready` (the recovery event)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes.client import ApiException, CoreV1Api

from brownout.faults.kubernetes.client import REQUEST_TIMEOUT

__all__ = ["is_pod_ready", "poll_until", "ready_pod_count"]


def is_pod_ready(pod: Any) -> bool:
    """Running, not being deleted, and its Ready condition is True (what a Service routes to)."""
    if pod.metadata.deletion_timestamp is not None or pod.status is None or pod.status.phase != "Running":
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def ready_pod_count(core: CoreV1Api, namespace: str, selector: str) -> int:
    pods = core.list_namespaced_pod(namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT)
    return sum(1 for pod in pods.items if is_pod_ready(pod))


def poll_until(
    predicate: Callable[[], bool], timeout: float, clock: Callable[[], float], interval: float = 0.2
) -> float | None:
    """`clock()` at the first poll where `predicate` holds; None after `timeout` seconds.

    Server errors and lost connections count as "not ready yet": an API server
    that blips while the workload recovers must not end the wait early. Client
    errors (401, 403, 404) are raised: waiting would not fix them.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return clock()
        except ApiException as exc:
            if exc.status and exc.status < 500:
                raise
        except urllib3.exceptions.HTTPError:
            pass  # connection refused or reset: the API server itself is recovering
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)
