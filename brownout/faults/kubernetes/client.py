"""Build a Kubernetes API client from what a fault spec and its handle record.

`KubeAccess` is the part of a handle that says how to reach the cluster:
a kubeconfig context, or an API URL plus the *name* of the environment
variable holding a bearer token. It never holds a token, so a handle can sit
in the journal and still let `brownout recover` rebuild the client after a crash.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from brownout.errors import TargetError
from brownout.faults.base import FaultContext

__all__ = ["REQUEST_TIMEOUT", "KubeAccess", "KubeApis", "connect"]

REQUEST_TIMEOUT = 10.0
"""Seconds per API call: the client has no default, and a hung call must not hang a rollback."""


@dataclass(frozen=True)
class KubeAccess:
    """How to reach the API server. Precedence: api_url, then context, then in-cluster config."""

    context: str | None = None
    api_url: str | None = None
    token_env: str | None = None
    verify_tls: bool = True

    @classmethod
    def for_fault(cls, spec: Any, context: FaultContext) -> KubeAccess:
        """The fault's own `api_url`/`context` win over the run's default kubeconfig context."""
        if spec.api_url is not None:
            return cls(api_url=spec.api_url, token_env=spec.token_env, verify_tls=spec.verify_tls)
        return cls(context=spec.context or context.kube_context)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> KubeAccess:
        return cls(**raw)

    def describe(self) -> str:
        if self.api_url:
            return self.api_url
        return f"kubeconfig context '{self.context}'" if self.context else "default kubeconfig or in-cluster config"

    def api_client(self) -> k8s.ApiClient:
        """A fresh ApiClient; raises TargetError when the configuration cannot be loaded."""
        if self.api_url is not None:
            configuration = k8s.Configuration(host=self.api_url)
            configuration.verify_ssl = self.verify_tls
            if self.token_env is not None:
                token = os.environ.get(self.token_env)
                if not token:
                    raise TargetError(f"environment variable {self.token_env} (bearer token for {self.api_url}) is not set")
                configuration.api_key = {"BearerToken": token}
                configuration.api_key_prefix = {"BearerToken": "Bearer"}
            return k8s.ApiClient(configuration)
        try:
            if self.context is not None or os.path.exists(os.path.expanduser(k8s_config.KUBE_CONFIG_DEFAULT_LOCATION)):
                return k8s_config.new_client_from_config(context=self.context)
            configuration = k8s.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)
            return k8s.ApiClient(configuration)
        except (ConfigException, OSError) as exc:
            raise TargetError(f"cannot load Kubernetes configuration ({self.describe()}): {exc}") from exc


@dataclass(frozen=True)
class KubeApis:
    """The typed API groups the drivers use, sharing one connection pool."""

    core: k8s.CoreV1Api
    apps: k8s.AppsV1Api


@contextmanager
def connect(access: KubeAccess) -> Iterator[KubeApis]:
    """Open a client for the duration of one driver step, then close its pool."""
    api_client = access.api_client()
    try:
        yield KubeApis(core=k8s.CoreV1Api(api_client), apps=k8s.AppsV1Api(api_client))
    finally:
        api_client.close()
