"""What the Kubernetes fault kinds share: a client per step, API errors as brownout errors, `wait_ready`."""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes.client import ApiException

from brownout.errors import BrownoutError
from brownout.faults.base import FaultContext, FaultDriver, FaultHandle
from brownout.faults.kubernetes.client import KubeAccess

__all__ = ["KubernetesDriver", "api_errors", "status_message"]


def status_message(exc: ApiException) -> str:
    """The `message` of the API server's Status object, else the HTTP reason."""
    try:
        return str(json.loads(exc.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(exc.reason)


@contextmanager
def api_errors(error: type[BrownoutError], doing: str) -> Iterator[None]:
    """Turn client and transport errors into `error` naming what was being done."""
    try:
        yield
    except ApiException as exc:
        raise error(f"{doing}: HTTP {exc.status}: {status_message(exc)}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise error(f"{doing}: API server unreachable: {exc}") from exc


class KubernetesDriver(FaultDriver):
    """Base of the Kubernetes fault kinds; `access` goes into every handle as `data['access']`."""

    def __init__(self, spec: Any, context: FaultContext) -> None:
        super().__init__(spec, context)
        self.access = KubeAccess.for_fault(spec, context)

    @classmethod
    @abstractmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float, clock: Callable[[], float] = time.time) -> float | None:
        """After rollback: `clock()` when the workload is ready again (the recovery event), None on timeout."""
