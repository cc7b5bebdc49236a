"""`gpu.memory-hog`: take GPU memory away from the serving engine for the fault's duration.

Placement `local` starts `python -m brownout.faults.gpu.hog` here; placement
`kubernetes` ships the same script as `python -c` into each picked pod through
the exec API, detached (`--daemon`), and rollback execs `--stop` of its state
file. Either way the handle holds only paths and names (no token), and the hog
frees its memory after `max_lifetime` even if no rollback ever comes.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from kubernetes.client import ApiException

from brownout.errors import InjectError, RefusedError, RollbackError
from brownout.spec.faults.gpu import GpuMemoryHog
from brownout.spec.units import format_size
from brownout.faults.base import (
    FaultContext,
    FaultDriver,
    FaultHandle,
    Resolution,
    ResolvedTarget,
)
from brownout.faults.gpu import hog, local
from brownout.faults.gpu.pod_exec import exec_in_pod
from brownout.faults.kubernetes import rails
from brownout.faults.kubernetes.client import (
    REQUEST_TIMEOUT,
    KubeAccess,
    KubeApis,
    connect,
)
from brownout.faults.kubernetes.driver import api_errors
from brownout.faults.selection import pick

__all__ = ["HOST_MAX_SHARE", "GpuMemoryHogDriver", "hog_args"]

HOST_MAX_SHARE = 0.5
"""Safety rail: a `host` hog may take at most this share of the machine's available memory."""

_STOP_TIMEOUT = 30.0


def hog_args(spec: GpuMemoryHog, state_file: str) -> list[str]:
    """The hog's command-line arguments for a spec (shared by both placements)."""
    amount = ["--bytes", str(spec.amount)] if spec.amount is not None else ["--fraction", repr(spec.fraction)]
    return [*amount, "--device", spec.device, "--backend", spec.backend, "--state-file", state_file,
            "--ttl", repr(float(spec.max_lifetime))]


def _amount_text(spec: GpuMemoryHog) -> str:
    return format_size(spec.amount) if spec.amount is not None else f"{spec.fraction:.0%}"


def _check_room(spec: GpuMemoryHog, info: dict[str, Any]) -> int:
    """Bytes the hog would take; refuses what cannot fit (and, for `host`, more than HOST_MAX_SHARE)."""
    wanted = spec.amount if spec.amount is not None else int(spec.fraction * info["total"])  # type: ignore[operator]
    if info["backend"] == "host" and wanted > HOST_MAX_SHARE * info["free"]:
        raise RefusedError(
            "host-memory", f"a host hog of {format_size(wanted)} is more than {HOST_MAX_SHARE:.0%} of the "
            f"{info['free']} bytes available on this machine",
        )
    if wanted > info["free"]:
        raise RefusedError(
            "gpu-memory-free", f"{spec.device} has {info['free']} of {info['total']} bytes free; cannot take {wanted}"
        )
    return wanted


def _pod_targets(spec: GpuMemoryHog, apis: KubeApis, seed: int) -> tuple[list[Any], int]:
    """(picked Running pods, candidates), after the namespace and selector rails."""
    namespace = spec.namespace or ""
    rails.check_namespace(namespace, spec.allowed_namespaces, spec.allow_kube_system)
    if spec.pod is not None:
        with api_errors(InjectError, f"reading pod {namespace}/{spec.pod}"):
            pods = [apis.core.read_namespaced_pod(spec.pod, namespace, _request_timeout=REQUEST_TIMEOUT)]
    else:
        rails.check_selector(spec.label_selector or "", "label selector")
        with api_errors(InjectError, f"listing pods '{spec.label_selector}' in {namespace}"):
            pods = apis.core.list_namespaced_pod(
                namespace, label_selector=spec.label_selector, _request_timeout=REQUEST_TIMEOUT
            ).items
    running = sorted(
        (p for p in pods if p.status.phase == "Running" and p.metadata.deletion_timestamp is None),
        key=lambda p: p.metadata.name,
    )
    rails.check_matches(len(running), f"running pods for {spec.pod or spec.label_selector!r} in namespace {namespace}")
    if spec.pod is not None:
        return running, len(running)
    return pick(running, spec.select, seed=seed, salt=spec.name), len(running)


def _container(spec: GpuMemoryHog, pod: Any) -> str:
    names = [c.name for c in pod.spec.containers]
    if spec.container is not None:
        if spec.container not in names:
            raise InjectError(f"pod {pod.metadata.name} has no container '{spec.container}' ({', '.join(names)})")
        return spec.container
    default = (pod.metadata.annotations or {}).get("kubectl.kubernetes.io/default-container")
    return default if default in names else names[0]


class GpuMemoryHogDriver(FaultDriver):
    kind = "gpu.memory-hog"
    spec: GpuMemoryHog

    def __init__(self, spec: GpuMemoryHog, context: FaultContext) -> None:
        super().__init__(spec, context)
        self.access = KubeAccess.for_fault(spec, context) if spec.placement == "kubernetes" else None

    def _state_file(self, directory: str) -> str:
        return f"{directory.rstrip('/')}/brownout-hog-{self.spec.name}-{uuid.uuid4().hex[:12]}.json"

    def resolve(self) -> Resolution:
        spec = self.spec
        if spec.placement == "local":
            info = local.check_backend(spec.backend, spec.device, spec.start_timeout)
            wanted = _check_room(spec, info)
            return Resolution(
                spec.name, self.kind,
                f"hold {format_size(wanted)} of {spec.device} ({info['backend']}) in a local process",
                [ResolvedTarget("device", spec.device, info)], 1,
            )
        assert self.access is not None
        with connect(self.access) as apis:
            pods, candidates = _pod_targets(spec, apis, self.context.seed)
            targets = [ResolvedTarget("pod", p.metadata.name, {"namespace": spec.namespace,
                                                               "container": _container(spec, p)}) for p in pods]
        return Resolution(
            spec.name, self.kind,
            f"hold {_amount_text(spec)} of {spec.device} ({spec.backend}) in {len(pods)} of {candidates} pod(s) "
            f"in {spec.namespace}",
            targets, candidates,
        )

    def prepare(self) -> FaultHandle:
        spec = self.spec
        if spec.placement == "local":
            state_file = self._state_file(tempfile.gettempdir())
            return FaultHandle(spec.name, self.kind, {
                "placement": "local", "state_file": state_file, "args": hog_args(spec, state_file),
                "start_timeout": spec.start_timeout,
            })
        assert self.access is not None
        with connect(self.access) as apis:
            pods, _ = _pod_targets(spec, apis, self.context.seed)
            hogs = [{"namespace": spec.namespace, "pod": p.metadata.name, "container": _container(spec, p),
                     "state_file": self._state_file(spec.state_dir)} for p in pods]
        return FaultHandle(spec.name, self.kind, {
            "placement": "kubernetes", "access": self.access.to_dict(), "python": spec.python, "hogs": hogs,
            "args": hog_args(spec, "{state_file}"), "start_timeout": spec.start_timeout,
        })

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        if data["placement"] == "local":
            state = local.start_hog(data["args"], data["state_file"], data["start_timeout"])
            return {"hogs": [state]}
        held = []
        with connect(KubeAccess.from_dict(data["access"])) as apis:
            for target in data["hogs"]:
                args = [a.replace("{state_file}", target["state_file"]) for a in data["args"]]
                command = [data["python"], "-c", _hog_source(), *args, "--daemon"]
                with api_errors(InjectError, f"starting the hog in {target['namespace']}/{target['pod']}"):
                    result = exec_in_pod(apis, target["namespace"], target["pod"], target["container"], command,
                                         data["start_timeout"] + REQUEST_TIMEOUT, InjectError)
                if result.returncode != 0:
                    raise InjectError(
                        f"GPU memory hog in {target['namespace']}/{target['pod']} ({target['container']}) failed "
                        f"(hogs started before it: {len(held)}): {result.error_line()}"
                    )
                held.append({"pod": target["pod"], **_json_line(result.stdout, InjectError)})
        return {"hogs": held}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        if data["placement"] == "local":
            return {"hogs": [local.stop_hog(data["state_file"])]}
        stopped = []
        with connect(KubeAccess.from_dict(data["access"])) as apis:
            for target in data["hogs"]:
                where = f"{target['namespace']}/{target['pod']}"
                command = [data["python"], "-c", _hog_source(), "--stop", target["state_file"]]
                with api_errors(RollbackError, f"reading pod {where}"):
                    if _pod_gone(apis, target["namespace"], target["pod"]):
                        stopped.append({"pod": target["pod"], "stopped": False, "reason": "pod gone, and its hog with it"})
                        continue
                result = exec_in_pod(apis, target["namespace"], target["pod"], target["container"], command,
                                     _STOP_TIMEOUT, RollbackError)
                if result.returncode != 0:
                    raise RollbackError(f"stopping the GPU memory hog in {where}: {result.error_line()}")
                stopped.append({"pod": target["pod"], **_json_line(result.stdout, RollbackError)})
        return {"hogs": stopped}

    def describe(self) -> str:
        where = "local process" if self.spec.placement == "local" else f"pods in {self.spec.namespace}"
        return f"{self.kind} '{self.spec.name}': {_amount_text(self.spec)} of {self.spec.device} ({where})"


def _pod_gone(apis: KubeApis, namespace: str, pod: str) -> bool:
    try:
        apis.core.read_namespaced_pod(pod, namespace, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def _hog_source() -> str:
    """The hog script, shipped verbatim: brownout is not installed in the target pod."""
    return Path(hog.__file__).read_text(encoding="utf-8")


def _json_line(stdout: str, error: type[Exception]) -> dict[str, Any]:
    try:
        return dict(json.loads(stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError, TypeError) as exc:
        raise error(f"unexpected output from the hog: {stdout[-200:]!r}") from exc
