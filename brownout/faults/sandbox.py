"""Faults on the embedded sandbox, applied through its supervisor's control API.

Like their cluster counterparts, they act on real processes: a replica kill
sends a real signal to a real replica process, and the supervisor brings it
back after its cold start, as a ReplicaSet would.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from brownout.errors import InjectError, RefusedError, RollbackError
from brownout.spec.faults.sandbox import (
    SandboxBadRollout,
    SandboxGpuOom,
    SandboxRegionDown,
    SandboxReplicaKill,
    SandboxSlowEmbeddings,
)
from brownout.faults.base import FaultDriver, FaultHandle, Resolution, ResolvedTarget
from brownout.faults.selection import pick

__all__ = [
    "SandboxBadRolloutDriver",
    "SandboxGpuOomDriver",
    "SandboxRegionDownDriver",
    "SandboxReplicaKillDriver",
    "SandboxSlowEmbeddingsDriver",
    "control_call",
    "sandbox_state",
]

_TIMEOUT = 5.0


def control_call(method: str, url: str, error: type[Exception], json: Any = None) -> dict[str, Any]:
    try:
        response = httpx.request(method, url, json=json, timeout=_TIMEOUT)
    except httpx.HTTPError as exc:
        raise error(f"sandbox control API {url} unreachable: {exc!r}") from exc
    if response.status_code >= 400:
        raise error(f"sandbox control API {method} {url} answered {response.status_code}: {response.text[:200]}")
    return response.json() if response.content else {}


def sandbox_state(control_url: str, error: type[Exception] = InjectError) -> dict[str, Any]:
    return control_call("GET", f"{control_url}/sandbox/state", error)


class _SandboxDriver(FaultDriver):
    @property
    def control(self) -> str:
        if not self.context.sandbox_control:
            raise InjectError(f"fault '{self.spec.name}' ({self.spec.kind}) needs a sandbox target")
        return self.context.sandbox_control

    def _replicas(self) -> list[dict[str, Any]]:
        state = sandbox_state(self.control)
        region = getattr(self.spec, "region", None)
        if region is not None and region not in state.get("regions", {}):
            raise RefusedError("unknown-region", f"region '{region}' is not in the sandbox ({', '.join(state.get('regions', {}))})")
        return [
            c for c in state["components"]
            if c["role"] == "replica" and (region is None or c["region"] == region)
        ]

    def _picked(self) -> tuple[list[dict[str, Any]], int]:
        candidates = self._replicas()
        up = [c for c in candidates if c["status"] == "ready"]
        return pick(up, self.spec.select, seed=self.context.seed, salt=self.spec.name), len(candidates)

    def _on_picked(self, action: str) -> Resolution:
        """What the dry run prints for an `action` on the picked replicas: "... on 2 of 4 replica(s)"."""
        picked, total = self._picked()
        return Resolution(
            self.spec.name, self.kind, f"{action} on {len(picked)} of {total} replica(s)",
            [ResolvedTarget("process", c["name"], {"pid": c["pid"], "region": c["region"]}) for c in picked],
            total,
        )

    def _handle(self, **data: Any) -> FaultHandle:
        return FaultHandle(self.spec.name, self.kind, {"control_url": self.control, **data})


class SandboxReplicaKillDriver(_SandboxDriver):
    """Kill replica processes; nothing to restore, the supervisor restarts them after cold start."""

    kind = "sandbox.replica-kill"
    spec: SandboxReplicaKill

    def resolve(self) -> Resolution:
        picked, total = self._picked()
        return Resolution(
            self.spec.name, self.kind,
            f"{self.spec.signal} {len(picked)} of {total} LLM replica process(es)"
            + (f" in {self.spec.region}" if self.spec.region else ""),
            [ResolvedTarget("process", c["name"], {"pid": c["pid"], "region": c["region"]}) for c in picked],
            total,
        )

    def prepare(self) -> FaultHandle:
        picked, _ = self._picked()
        return self._handle(replicas=[c["name"] for c in picked], signal=self.spec.signal)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        killed = {}
        for name in handle.data["replicas"]:
            answer = control_call("POST", f"{handle.data['control_url']}/sandbox/components/{name}/signal", InjectError,
                           {"signal": handle.data["signal"]})
            killed[name] = answer.get("pid")
        return {"killed": killed}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        return {"undone": False, "note": "killed replicas are restarted by the supervisor"}

    @classmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float) -> float | None:
        """Epoch time when every killed replica reports ready again; None on timeout."""
        return _wait_components_ready(handle.data["control_url"], handle.data["replicas"], timeout)


def _wait_components_ready(control_url: str, names: list[str], timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = sandbox_state(control_url, RollbackError)
        except RollbackError:
            time.sleep(0.2)
            continue
        status = {c["name"]: c["status"] for c in state["components"]}
        if all(status.get(n) == "ready" for n in names):
            return time.time()
        time.sleep(0.1)
    return None


class SandboxGpuOomDriver(_SandboxDriver):
    """Shrink simulated GPU memory of replicas; rollback restores their full memory."""

    kind = "sandbox.gpu-oom"
    spec: SandboxGpuOom

    def resolve(self) -> Resolution:
        return self._on_picked(f"shrink GPU memory to {self.spec.gpu_memory / 2**20:.0f} MiB")

    def prepare(self) -> FaultHandle:
        picked, _ = self._picked()
        return self._handle(replicas=[c["name"] for c in picked], gpu_memory=self.spec.gpu_memory)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        for name in handle.data["replicas"]:
            control_call("POST", f"{handle.data['control_url']}/sandbox/components/{name}/gpu", InjectError,
                  {"gpu_memory": handle.data["gpu_memory"]})
        return {"replicas": handle.data["replicas"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        for name in handle.data["replicas"]:
            control_call("POST", f"{handle.data['control_url']}/sandbox/components/{name}/gpu", RollbackError, {"gpu_memory": None})
        return {"restored": handle.data["replicas"]}

    @classmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float) -> float | None:
        return _wait_components_ready(handle.data["control_url"], handle.data["replicas"], timeout)


class SandboxRegionDownDriver(_SandboxDriver):
    """Stop every replica of a region; rollback starts them again (they cold-start)."""

    kind = "sandbox.region-down"
    spec: SandboxRegionDown

    def resolve(self) -> Resolution:
        replicas = self._replicas()
        return Resolution(
            self.spec.name, self.kind, f"take region {self.spec.region} down ({len(replicas)} replica(s))",
            [ResolvedTarget("region", self.spec.region, {"replicas": [c["name"] for c in replicas]})],
            len(replicas),
        )

    def prepare(self) -> FaultHandle:
        replicas = self._replicas()
        return self._handle(region=self.spec.region, replicas=[c["name"] for c in replicas])

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        control_call("POST", f"{handle.data['control_url']}/sandbox/regions/{handle.data['region']}/down", InjectError)
        return {"region": handle.data["region"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        control_call("POST", f"{handle.data['control_url']}/sandbox/regions/{handle.data['region']}/up", RollbackError)
        return {"region": handle.data["region"]}

    @classmethod
    def wait_ready(cls, handle: FaultHandle, timeout: float) -> float | None:
        return _wait_components_ready(handle.data["control_url"], handle.data["replicas"], timeout)


class SandboxSlowEmbeddingsDriver(_SandboxDriver):
    """Add latency to the embedding service; rollback removes it."""

    kind = "sandbox.slow-embeddings"
    spec: SandboxSlowEmbeddings

    def resolve(self) -> Resolution:
        state = sandbox_state(self.control)
        embedders = [c for c in state["components"] if c["role"] == "embedder"]
        return Resolution(
            self.spec.name, self.kind,
            f"add {self.spec.latency * 1000:.0f} ms (+/- {self.spec.jitter * 1000:.0f} ms) to every embedding request",
            [ResolvedTarget("process", c["name"], {"pid": c["pid"]}) for c in embedders],
            len(embedders),
        )

    def prepare(self) -> FaultHandle:
        return self._handle(latency=self.spec.latency, jitter=self.spec.jitter)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        control_call("POST", f"{handle.data['control_url']}/sandbox/embedder/latency", InjectError,
              {"latency": handle.data["latency"], "jitter": handle.data["jitter"]})
        return {"latency": handle.data["latency"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        control_call("POST", f"{handle.data['control_url']}/sandbox/embedder/latency", RollbackError, {"latency": 0, "jitter": 0})
        return {"latency": 0}


class SandboxBadRolloutDriver(_SandboxDriver):
    """Make replicas answer wrongly (still 200 OK); rollback makes them answer well again."""

    kind = "sandbox.bad-rollout"
    spec: SandboxBadRollout

    def _settings(self) -> dict[str, Any]:
        return {"answer": self.spec.answer, "share": self.spec.share, "tokens": self.spec.tokens or 1,
                "model": self.spec.model, "seed": self.context.seed}

    def resolve(self) -> Resolution:
        return self._on_picked(f"degrade {self.spec.share:.0%} of answers ({self.spec.answer}, status 200)")

    def prepare(self) -> FaultHandle:
        picked, _ = self._picked()
        return self._handle(replicas=[c["name"] for c in picked], degrade=self._settings())

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        for name in handle.data["replicas"]:
            control_call("POST", f"{handle.data['control_url']}/sandbox/components/{name}/degrade", InjectError,
                         handle.data["degrade"])
        return {"replicas": handle.data["replicas"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        """Idempotent; a replica that is down (killed, restarting) comes back healthy and needs nothing."""
        restored, skipped = [], []
        for name in handle.data["replicas"]:
            try:
                control_call("POST", f"{handle.data['control_url']}/sandbox/components/{name}/degrade", RollbackError)
                restored.append(name)
            except RollbackError as exc:
                if "answered 409" not in str(exc):
                    raise
                skipped.append(name)
        return {"restored": restored, "not_running": skipped}
