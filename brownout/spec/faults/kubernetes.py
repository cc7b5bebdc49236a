"""Faults on a Kubernetes cluster: kill pods, scale workloads down, cordon (and drain) nodes.

Every kind shares `KubernetesFaultBase`: how to reach the API server and the
namespace safety rails. The rails themselves live in `brownout.faults.kubernetes.rails`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from brownout.spec.faults.common import FaultBase, Selection
from brownout.spec.units import Duration

__all__ = ["KubernetesFaultBase", "KubernetesNodeCordon", "KubernetesPodKill", "KubernetesScaleDown"]

_NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class KubernetesFaultBase(FaultBase):
    """How to reach the cluster, and which namespaces a fault may touch."""

    context: str | None = Field(
        None, description="kubeconfig context to use; the run's default context, then in-cluster config, when absent."
    )
    api_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="API server URL used instead of a kubeconfig: for tests and clusters reachable without one.",
    )
    token_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="With api_url: environment variable holding the bearer token. The token itself never goes in a file or journal.",
    )
    verify_tls: bool = Field(True, description="With api_url: verify the API server's TLS certificate.")
    allowed_namespaces: list[str] | None = Field(
        None,
        min_length=1,
        description="Safety rail: namespaces this fault may touch; any other is refused. No allowlist when absent.",
    )
    allow_kube_system: bool = Field(
        False, description="Safety rail override: allow touching the kube-system namespace (refused otherwise)."
    )

    @model_validator(mode="after")
    def _token_needs_url(self) -> KubernetesFaultBase:
        if self.token_env is not None and self.api_url is None:
            raise ValueError("token_env is only used with api_url")
        if self.api_url is not None and self.context is not None:
            raise ValueError("set either context or api_url, not both")
        return self


class KubernetesPodKill(KubernetesFaultBase):
    """Delete pods matching a label selector; their controller recreates them (a crash or preemption)."""

    kind: Literal["kubernetes.pod-kill"] = Field(..., description="Fault kind.")
    namespace: str = Field(..., pattern=_NAMESPACE, description="Namespace of the pods.")
    label_selector: str = Field(
        ..., description="Kubernetes label selector, e.g. 'app=vllm,tier in (gpu)'. Empty or exclusion-only selectors are refused."
    )
    select: Selection = Field(default_factory=Selection, description="How many of the matching pods to kill.")
    grace_period: Duration | None = Field(
        None, description="Termination grace period; the pod's own terminationGracePeriodSeconds when absent."
    )
    force: bool = Field(False, description="Delete immediately (grace period 0), like a node crash.")
    allow_unowned: bool = Field(
        False,
        description="Safety rail override: also delete pods no controller owns (no ownerReference with "
        "controller: true). Such a pod never comes back; refused by default, naming the pods.",
    )

    @model_validator(mode="after")
    def _force_or_grace(self) -> KubernetesPodKill:
        if self.force and self.grace_period is not None:
            raise ValueError("force deletes with grace period 0; do not also set grace_period")
        return self


class KubernetesScaleDown(KubernetesFaultBase):
    """Scale a Deployment or StatefulSet down (lost capacity); rollback restores the original replica count."""

    kind: Literal["kubernetes.scale-down"] = Field(..., description="Fault kind.")
    namespace: str = Field(..., pattern=_NAMESPACE, description="Namespace of the workload.")
    deployment: str | None = Field(None, min_length=1, description="Deployment to scale (exactly one of deployment, statefulset).")
    statefulset: str | None = Field(None, min_length=1, description="StatefulSet to scale (exactly one of deployment, statefulset).")
    replicas: int = Field(..., ge=0, description="Replica count while the fault is active; must be below the current count.")

    @model_validator(mode="after")
    def _exactly_one(self) -> KubernetesScaleDown:
        if (self.deployment is None) == (self.statefulset is None):
            raise ValueError("set exactly one of 'deployment' or 'statefulset'")
        return self


class KubernetesNodeCordon(KubernetesFaultBase):
    """Cordon nodes (e.g. one zone) and optionally drain them by eviction; rollback uncordons what brownout cordoned."""

    kind: Literal["kubernetes.node-cordon"] = Field(..., description="Fault kind.")
    node_selector: str = Field(
        ...,
        description="Label selector for nodes, e.g. 'topology.kubernetes.io/zone=us-east-1a'. Empty selectors are refused.",
    )
    select: Selection = Field(
        default_factory=lambda: Selection(mode="all", max_share=1.0),
        description="How many of the matching nodes to cordon (all of them by default, e.g. a whole zone).",
    )
    max_cluster_share: float = Field(
        0.5, gt=0, le=1, description="Safety rail: refuse to cordon more than this share of all the cluster's nodes."
    )
    drain: bool = Field(
        False,
        description="Also evict the nodes' pods (DaemonSet pods and pods in namespaces the rails forbid are left alone).",
    )
    drain_grace_period: Duration | None = Field(
        None, description="Grace period of drained pods; each pod's own when absent."
    )
