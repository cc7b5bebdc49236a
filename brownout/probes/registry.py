"""Probe kind -> check class: an explicit table, imported on first use (the Kubernetes
probe's client costs seconds to import and most runs have none)."""

from __future__ import annotations

from brownout.spec.probes import Probe
from brownout.lazy import LazyTable
from brownout.probes.base import ProbeCheck

__all__ = ["CHECKS", "build_check"]

CHECKS: LazyTable[type[ProbeCheck]] = LazyTable({
    "chat": "brownout.probes.chat:ChatCheck",
    "golden": "brownout.probes.golden:GoldenCheck",
    "embeddings": "brownout.probes.embeddings:EmbeddingsCheck",
    "rag": "brownout.probes.rag:RagCheck",
    "http": "brownout.probes.http_check:HttpCheck",
    "prometheus": "brownout.probes.prometheus:PrometheusCheck",
    "kubernetes": "brownout.probes.kube:KubernetesCheck",
})


def build_check(spec: Probe) -> ProbeCheck:
    return CHECKS[spec.kind](spec)
