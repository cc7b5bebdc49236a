"""Every fault kind's driver, by its spec `kind`: an explicit table, imported on first use
(a run without Kubernetes faults never loads the Kubernetes client)."""

from __future__ import annotations

from brownout.faults.base import FaultDriver
from brownout.lazy import LazyTable

__all__ = ["DRIVERS"]

DRIVERS: LazyTable[type[FaultDriver]] = LazyTable({
    "sandbox.replica-kill": "brownout.faults.sandbox:SandboxReplicaKillDriver",
    "sandbox.gpu-oom": "brownout.faults.sandbox:SandboxGpuOomDriver",
    "sandbox.region-down": "brownout.faults.sandbox:SandboxRegionDownDriver",
    "sandbox.slow-embeddings": "brownout.faults.sandbox:SandboxSlowEmbeddingsDriver",
    "sandbox.bad-rollout": "brownout.faults.sandbox:SandboxBadRolloutDriver",
    "stream.fault": "brownout.faults.stream:StreamFaultDriver",
    "network.toxic": "brownout.faults.network:NetworkToxicDriver",
    "network.proxy-down": "brownout.faults.network:NetworkProxyDownDriver",
    "kubernetes.pod-kill": "brownout.faults.kubernetes:PodKillDriver",
    "kubernetes.scale-down": "brownout.faults.kubernetes:ScaleDownDriver",
    "kubernetes.node-cordon": "brownout.faults.kubernetes:NodeCordonDriver",
    "gpu.memory-hog": "brownout.faults.gpu:GpuMemoryHogDriver",
    "load.kv-cache-flood": "brownout.faults.kv_flood:KvCacheFloodDriver",
    "process.kill": "brownout.faults.process:ProcessKillDriver",
    "process.pause": "brownout.faults.process:ProcessPauseDriver",
    "process.signal": "brownout.faults.process:ProcessSignalDriver",
    "command": "brownout.faults.command:CommandDriver",
    # run set-up, not in the spec: registered so `brownout recover` can undo them
    "sandbox.embedder-link": "brownout.faults.sandbox_links:SandboxEmbedderLinkDriver",
    "network.declared-proxy": "brownout.faults.network:DeclaredProxyDriver",  # the experiment's `proxies:`
})
