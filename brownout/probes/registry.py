"""Probe kind -> check class, built from one explicit tuple (no import-time discovery)."""

from __future__ import annotations

from brownout.experiments.spec.probes import Probe
from brownout.probes.base import ProbeCheck
from brownout.probes.chat import ChatCheck
from brownout.probes.embeddings import EmbeddingsCheck
from brownout.probes.http_check import HttpCheck
from brownout.probes.kube import KubernetesCheck
from brownout.probes.prometheus import PrometheusCheck
from brownout.probes.rag import RagCheck

__all__ = ["CHECKS", "build_check"]

CHECKS: dict[str, type[ProbeCheck]] = {
    cls.kind: cls for cls in (ChatCheck, EmbeddingsCheck, RagCheck, HttpCheck, PrometheusCheck, KubernetesCheck)
}


def build_check(spec: Probe) -> ProbeCheck:
    return CHECKS[spec.kind](spec)
