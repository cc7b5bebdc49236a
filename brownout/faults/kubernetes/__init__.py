"""Kubernetes faults: pod kill, scale down, node cordon/drain, each with `wait_ready` for the recovery event."""

from brownout.faults.kubernetes.client import KubeAccess
from brownout.faults.kubernetes.driver import KubernetesDriver
from brownout.faults.kubernetes.node_cordon import NodeCordonDriver
from brownout.faults.kubernetes.pod_kill import PodKillDriver
from brownout.faults.kubernetes.scale_down import ScaleDownDriver

__all__ = ["KubeAccess", "KubernetesDriver", "NodeCordonDriver", "PodKillDriver", "ScaleDownDriver"]
