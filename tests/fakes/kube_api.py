"""A stateful fake Kubernetes API server, for the one external boundary that cannot run here.

It speaks the wire protocol the official `kubernetes` client uses: REST paths of
core/v1 (pods, eviction, nodes, namespaces) and apps/v1 (deployments, statefulsets
and their `scale` subresource), `labelSelector`/`fieldSelector` query parameters,
`DeleteOptions` bodies, merge and strategic-merge patches, list kinds with a
`metadata.resourceVersion`, and `Status` objects for errors (400, 401, 404, 409, 415, 422).
Every request must carry `Authorization: Bearer <token>`.

Pod exec (`GET .../pods/{name}/exec` upgraded to a websocket, subprotocol
`v4.channel.k8s.io`) runs the command as a local subprocess "in the pod" and
answers on the channels the client reads: 1 stdout, 2 stderr, 3 the final Status.

A controller thread does what the real controllers would, at test speed:
- a deleted pod goes Terminating for its grace period, then disappears;
- each workload keeps `spec.replicas` active pods, creating missing ones after
  `recreate_delay`; a new pod is Pending until scheduled on a schedulable node,
  then Running and Ready after `cold_start`; with no schedulable node it stays Pending;
- workload status (`replicas`, `readyReplicas`, `observedGeneration`) follows.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import random
import re
import socket
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

from kubernetes import client as k8s

from brownout.faults.kubernetes.selectors import (
    parse_selector,
    selector_for,
    selector_matches,
)
from brownout.processes import free_port

__all__ = ["ApiFailure", "FakeKubeApi", "FakeKubeSettings", "RequestLog"]

_LIST_KINDS = {"pods": "PodList", "nodes": "NodeList", "namespaces": "NamespaceList",
               "deployments": "DeploymentList", "statefulsets": "StatefulSetList"}
_MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
_POD_FIELDS: dict[str, Callable[[dict], Any]] = {
    "metadata.name": lambda o: o["metadata"]["name"],
    "metadata.namespace": lambda o: o["metadata"]["namespace"],
    "spec.nodeName": lambda o: o["spec"].get("nodeName", ""),
    "status.phase": lambda o: o["status"].get("phase", ""),
}
_NODE_FIELDS: dict[str, Callable[[dict], Any]] = {
    "metadata.name": lambda o: o["metadata"]["name"],
    "spec.unschedulable": lambda o: str(bool(o["spec"].get("unschedulable", False))).lower(),
}


class ApiFailure(Exception):
    """Answered as a Kubernetes `Status` object."""

    REASONS: ClassVar[dict[int, str]] = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed",
               409: "Conflict", 415: "UnsupportedMediaType", 422: "Invalid"}

    def __init__(self, code: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}

    def status(self) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.REASONS.get(self.code, "Unknown"),
                "details": self.details, "code": self.code}


@dataclass(frozen=True)
class FakeKubeSettings:
    token: str = "fake-token"
    recreate_delay: float = 0.2     # a controller noticing a missing pod and creating its replacement
    cold_start: float = 0.5         # scheduled -> Running and Ready (image pull, model load)
    tick: float = 0.05              # controller loop period
    seed: int = 7                   # pod name suffixes


@dataclass(frozen=True)
class RequestLog:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str | None
    body: Any


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch (strategic merge is the same for the scalar fields the fake patches)."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _field_filter(text: str, fields: dict[str, Callable[[dict], Any]]) -> Callable[[dict], bool]:
    terms = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        match = re.fullmatch(r"([A-Za-z.]+)\s*(==|=|!=)\s*(.*)", term)
        if not match:
            raise ApiFailure(400, f"invalid field selector: '{term}'")
        name, op, value = match.groups()
        if name not in fields:
            raise ApiFailure(400, f'field label not supported: {name}')
        terms.append((fields[name], op != "!=", value))
    return lambda obj: all((str(get(obj)) == value) == equal for get, equal, value in terms)


def _label_filter(text: str) -> Callable[[dict], bool]:
    try:
        requirements = parse_selector(text)
    except ValueError as exc:
        raise ApiFailure(400, f"unable to parse requirement: {exc}") from exc
    return lambda obj: selector_matches(requirements, obj["metadata"].get("labels") or {})


@dataclass
class _Workload:
    """A Deployment or StatefulSet; `obj` is its API object, the rest is controller bookkeeping."""

    kind: str
    obj: dict[str, Any]
    grace: int
    deficit_since: float | None = None
    template_hash: str = field(default_factory=lambda: uuid.uuid4().hex[:10])


class _Cluster:
    """The objects and the controller that reconciles them. Every method holds the lock."""

    def __init__(self, settings: FakeKubeSettings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.rng = random.Random(settings.seed)
        self.version = 100
        self.namespaces: dict[str, dict] = {}
        self.nodes: dict[str, dict] = {}
        self.pods: dict[tuple[str, str], dict] = {}
        self.workloads: dict[tuple[str, str, str], _Workload] = {}   # (resource, namespace, name)
        self.deadlines: dict[tuple[str, str], float] = {}            # Terminating pod -> removal time
        self.ready_at: dict[tuple[str, str], float] = {}             # scheduled pod -> Running time

    # --- helpers -----------------------------------------------------------------------------
    def bump(self, obj: dict) -> dict:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        return obj

    def meta(self, name: str, namespace: str | None = None, labels: dict | None = None) -> dict:
        meta = {"name": name, "uid": str(uuid.uuid4()), "creationTimestamp": _rfc3339(time.time()),
                "labels": dict(labels or {})}
        if namespace is not None:
            meta["namespace"] = namespace
            self.ensure_namespace(namespace)
        return meta

    def ensure_namespace(self, name: str) -> None:
        if name not in self.namespaces:
            self.namespaces[name] = self.bump({"metadata": self.meta(name), "spec": {"finalizers": ["kubernetes"]},
                                               "status": {"phase": "Active"}})

    def pod(self, namespace: str, name: str) -> dict:
        try:
            return self.pods[(namespace, name)]
        except KeyError:
            raise ApiFailure(404, f'pods "{name}" not found', {"name": name, "kind": "pods"}) from None

    def workload(self, resource: str, namespace: str, name: str) -> _Workload:
        try:
            return self.workloads[(resource, namespace, name)]
        except KeyError:
            raise ApiFailure(404, f'{resource}.apps "{name}" not found',
                             {"name": name, "group": "apps", "kind": resource}) from None

    def node(self, name: str) -> dict:
        try:
            return self.nodes[name]
        except KeyError:
            raise ApiFailure(404, f'nodes "{name}" not found', {"name": name, "kind": "nodes"}) from None

    # --- seeding (tests) ---------------------------------------------------------------------
    def add_node(self, name: str, labels: dict[str, str], unschedulable: bool = False) -> None:
        spec = {"unschedulable": True} if unschedulable else {}
        self.nodes[name] = self.bump({"metadata": self.meta(name, labels=labels), "spec": spec, "status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}})

    def add_workload(self, resource: str, namespace: str, name: str, replicas: int, labels: dict[str, str],
                     grace: int, ready: bool) -> None:
        kind = "Deployment" if resource == "deployments" else "StatefulSet"
        obj = {"metadata": {**self.meta(name, namespace, labels), "generation": 1},
               "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                        "template": {"metadata": {"labels": dict(labels)},
                                     "spec": {"containers": [{"name": "server", "image": "vllm/vllm-openai"}],
                                              "terminationGracePeriodSeconds": grace}}},
               "status": {"replicas": 0, "readyReplicas": 0, "observedGeneration": 1}}
        if resource == "statefulsets":
            obj["spec"]["serviceName"] = name
        wl = _Workload(kind, self.bump(obj), grace)
        self.workloads[(resource, namespace, name)] = wl
        for _ in range(replicas):
            self.create_pod(wl, running=ready)
        self.update_status(wl)

    def add_pod(self, namespace: str, name: str, labels: dict[str, str], node: str,
                owner_kind: str | None = None) -> None:
        """A pod no fake workload manages: standalone, or owned by a kind the fake does not run (DaemonSet)."""
        meta = self.meta(name, namespace, labels)
        if owner_kind:
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner_kind, "name": f"{name}-owner",
                                        "uid": str(uuid.uuid4()), "controller": True}]
        self.pods[(namespace, name)] = self.bump({"metadata": meta, "spec": {
            "nodeName": node, "containers": [{"name": "main", "image": "busybox"}],
            "terminationGracePeriodSeconds": 1}, "status": self.running_status()})

    # --- controller --------------------------------------------------------------------------
    @staticmethod
    def running_status() -> dict:
        return {"phase": "Running", "podIP": "10.0.0.1", "conditions": [{"type": "Ready", "status": "True"}]}

    def owned(self, wl: _Workload) -> list[dict]:
        uid = wl.obj["metadata"]["uid"]
        return [p for p in self.pods.values()
                if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences", []))]

    def create_pod(self, wl: _Workload, running: bool, ordinal: int | None = None) -> None:
        namespace, labels = wl.obj["metadata"]["namespace"], wl.obj["spec"]["template"]["metadata"]["labels"]
        owner_name = wl.obj["metadata"]["name"]
        if wl.kind == "StatefulSet":
            if ordinal is None:
                ordinal = len(self.owned(wl))
            name = f"{owner_name}-{ordinal}"
            labels = {**labels, "statefulset.kubernetes.io/pod-name": name}
        else:
            suffix = "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            name = f"{owner_name}-{wl.template_hash}-{suffix}"
            labels = {**labels, "pod-template-hash": wl.template_hash}
            owner_name = f"{owner_name}-{wl.template_hash}"
        meta = self.meta(name, namespace, labels)
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "name": owner_name, "uid": wl.obj["metadata"]["uid"],
                                    "kind": "ReplicaSet" if wl.kind == "Deployment" else "StatefulSet",
                                    "controller": True, "blockOwnerDeletion": True}]
        spec = copy.deepcopy(wl.obj["spec"]["template"]["spec"])
        pod = {"metadata": meta, "spec": spec, "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}
        self.pods[(namespace, name)] = pod
        if running:
            spec["nodeName"] = self.pick_node() or ""
            pod["status"] = self.running_status()
        self.bump(pod)

    def pick_node(self) -> str | None:
        usable = [n for n, obj in self.nodes.items() if not obj["spec"].get("unschedulable")]
        if not usable:
            return None
        load = {n: 0 for n in usable}
        for pod in self.pods.values():
            if pod["spec"].get("nodeName") in load:
                load[pod["spec"]["nodeName"]] += 1
        return min(usable, key=lambda n: (load[n], n))

    def update_status(self, wl: _Workload) -> None:
        active = [p for p in self.owned(wl) if "deletionTimestamp" not in p["metadata"]]
        ready = sum(1 for p in active if p["status"].get("phase") == "Running")
        status = {"replicas": len(active), "readyReplicas": ready, "availableReplicas": ready,
                  "updatedReplicas": len(active), "observedGeneration": wl.obj["metadata"]["generation"]}
        if wl.kind == "StatefulSet":
            status["currentReplicas"] = len(active)
        if status != wl.obj["status"]:
            wl.obj["status"] = status
            self.bump(wl.obj)

    def delete_pod(self, key: tuple[str, str], grace: int | None) -> dict:
        pod = self.pods[key]
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        if grace <= 0 or not pod["spec"].get("nodeName"):  # unscheduled pods go at once, as on a real cluster
            self.remove_pod(key)
            return pod
        deadline = time.time() + grace
        if key not in self.deadlines or deadline < self.deadlines[key]:
            self.deadlines[key] = deadline
            pod["metadata"]["deletionTimestamp"] = _rfc3339(deadline)
            pod["metadata"]["deletionGracePeriodSeconds"] = grace
            pod["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "Terminating"}]
            self.bump(pod)
        return pod

    def remove_pod(self, key: tuple[str, str]) -> None:
        self.pods.pop(key, None)
        self.deadlines.pop(key, None)
        self.ready_at.pop(key, None)
        self.version += 1

    def reconcile(self) -> None:
        now = time.time()
        for key, deadline in list(self.deadlines.items()):
            if deadline <= now:
                self.remove_pod(key)
        for key, pod in self.pods.items():
            if pod["status"].get("phase") != "Pending" or "deletionTimestamp" in pod["metadata"]:
                continue
            if not pod["spec"].get("nodeName"):
                node = self.pick_node()
                if node is None:
                    continue
                pod["spec"]["nodeName"] = node
                pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
                self.ready_at[key] = now + self.settings.cold_start
                self.bump(pod)
            elif self.ready_at.get(key, now) <= now:
                pod["status"] = self.running_status()
                self.ready_at.pop(key, None)
                self.bump(pod)
        for wl in self.workloads.values():
            self.reconcile_workload(wl, now)
            self.update_status(wl)

    def reconcile_workload(self, wl: _Workload, now: float) -> None:
        want = wl.obj["spec"]["replicas"]
        owned = self.owned(wl)
        active = [p for p in owned if "deletionTimestamp" not in p["metadata"]]
        if wl.kind == "StatefulSet":  # ordinals: remove from the top, recreate a name only once it is gone
            names = {p["metadata"]["name"] for p in owned}
            prefix = wl.obj["metadata"]["name"]
            missing = [i for i in range(want) if f"{prefix}-{i}" not in names]
            extra = [p for p in active if int(p["metadata"]["name"].rsplit("-", 1)[1]) >= want]
        else:
            missing = list(range(max(0, want - len(active))))
            extra = sorted(active, key=lambda p: (p["status"].get("phase") == "Running",
                                                  p["metadata"]["creationTimestamp"]))[:max(0, len(active) - want)]
        for pod in extra:
            self.delete_pod((pod["metadata"]["namespace"], pod["metadata"]["name"]), wl.grace)
        if not missing:
            wl.deficit_since = None
            return
        if wl.deficit_since is None:
            wl.deficit_since = now
        if now - wl.deficit_since >= self.settings.recreate_delay:
            for ordinal in missing:
                self.create_pod(wl, running=False, ordinal=ordinal if wl.kind == "StatefulSet" else None)
            wl.deficit_since = None

    # --- API -----------------------------------------------------------------------------------
    def listing(self, resource: str, api_version: str, items: list[dict], query: dict[str, str]) -> dict:
        fields = _POD_FIELDS if resource == "pods" else _NODE_FIELDS if resource == "nodes" else \
            {"metadata.name": _POD_FIELDS["metadata.name"], "metadata.namespace": _POD_FIELDS["metadata.namespace"]}
        by_label = _label_filter(query.get("labelSelector", ""))
        by_field = _field_filter(query.get("fieldSelector", ""), fields)
        chosen = sorted((i for i in items if by_label(i) and by_field(i)),
                        key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return {"kind": _LIST_KINDS[resource], "apiVersion": api_version,
                "metadata": {"resourceVersion": str(self.version)}, "items": copy.deepcopy(chosen)}

    def scale_of(self, resource: str, wl: _Workload) -> dict:
        meta = wl.obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
                "spec": {"replicas": wl.obj["spec"]["replicas"]},
                "status": {"replicas": wl.obj["status"]["replicas"],
                           "selector": selector_for(wl.obj["spec"]["selector"]["matchLabels"])}}

    def set_replicas(self, wl: _Workload, replicas: Any) -> None:
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise ApiFailure(422, f'Scale.autoscaling "{wl.obj["metadata"]["name"]}" is invalid: '
                                  f'spec.replicas: Invalid value: {json.dumps(replicas)}: must be greater than or equal to 0',
                             {"name": wl.obj["metadata"]["name"], "group": "autoscaling", "kind": "Scale"})
        if replicas != wl.obj["spec"]["replicas"]:
            wl.obj["spec"]["replicas"] = replicas
            wl.obj["metadata"]["generation"] += 1
            self.bump(wl.obj)


def _typed(kind: str, api_version: str, obj: dict) -> dict:
    return {"kind": kind, "apiVersion": api_version, **copy.deepcopy(obj)}


_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("namespaces", re.compile(r"^/api/v1/namespaces$")),
    ("all_pods", re.compile(r"^/api/v1/pods$")),
    ("pods", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods$")),
    ("pod", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)$")),
    ("eviction", re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/eviction$")),
    ("nodes", re.compile(r"^/api/v1/nodes$")),
    ("node", re.compile(r"^/api/v1/nodes/(?P<name>[^/]+)$")),
    ("all_workloads", re.compile(r"^/apis/apps/v1/(?P<res>deployments|statefulsets)$")),
    ("workloads", re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<res>deployments|statefulsets)$")),
    ("workload", re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<res>deployments|statefulsets)/(?P<name>[^/]+)$")),
    ("scale", re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<res>deployments|statefulsets)/(?P<name>[^/]+)/scale$")),
]


class _Api:
    """Routes one request to the cluster; returns (HTTP status, JSON body)."""

    def __init__(self, cluster: _Cluster) -> None:
        self.c = cluster

    def handle(self, method: str, route: str, args: dict[str, str], query: dict[str, str],
               body: Any, content_type: str | None) -> tuple[int, dict]:
        handler = getattr(self, f"{method.lower()}_{route}", None)
        if handler is None:
            raise ApiFailure(405, "the server does not allow this method on the requested resource")
        with self.c.lock:
            return handler(args, query, body, content_type)

    def get_namespaces(self, a, q, b, ct):
        return 200, self.c.listing("namespaces", "v1", [_typed("Namespace", "v1", n) for n in self.c.namespaces.values()], q)

    def get_all_pods(self, a, q, b, ct):
        return 200, self.c.listing("pods", "v1", list(self.c.pods.values()), q)

    def get_pods(self, a, q, b, ct):
        return 200, self.c.listing("pods", "v1", [p for (ns, _), p in self.c.pods.items() if ns == a["ns"]], q)

    def get_pod(self, a, q, b, ct):
        return 200, _typed("Pod", "v1", self.c.pod(a["ns"], a["name"]))

    def delete_pod(self, a, q, b, ct):
        pod = self.c.pod(a["ns"], a["name"])
        options = b if isinstance(b, dict) else {}
        uid = (options.get("preconditions") or {}).get("uid")
        if uid is not None and uid != pod["metadata"]["uid"]:
            raise ApiFailure(409, f'Operation cannot be fulfilled on Pod "{a["name"]}": Precondition failed: '
                                  f'UID in precondition: {uid}, UID in object meta: {pod["metadata"]["uid"]}',
                             {"name": a["name"], "kind": "Pod"})
        grace = options.get("gracePeriodSeconds", q.get("gracePeriodSeconds"))
        return 200, _typed("Pod", "v1", self.c.delete_pod((a["ns"], a["name"]), None if grace is None else int(grace)))

    def post_eviction(self, a, q, b, ct):
        if not isinstance(b, dict) or b.get("kind") not in (None, "Eviction"):
            raise ApiFailure(400, "expected an Eviction object")
        if (b.get("metadata") or {}).get("name", a["name"]) != a["name"]:
            raise ApiFailure(400, "name in URL does not match name in Eviction object")
        self.c.pod(a["ns"], a["name"])
        grace = (b.get("deleteOptions") or {}).get("gracePeriodSeconds")
        self.c.delete_pod((a["ns"], a["name"]), grace)
        return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def get_nodes(self, a, q, b, ct):
        return 200, self.c.listing("nodes", "v1", list(self.c.nodes.values()), q)

    def get_node(self, a, q, b, ct):
        return 200, _typed("Node", "v1", self.c.node(a["name"]))

    def patch_node(self, a, q, b, ct):
        node = self.c.node(a["name"])
        patch = self._patch_body(b, ct)
        unknown = set(patch) - {"metadata", "spec"}
        if unknown:
            raise ApiFailure(422, f'Node "{a["name"]}" is invalid: cannot patch {sorted(unknown)}')
        _merge(node, patch)
        if node["spec"].get("unschedulable") is False:
            node["spec"].pop("unschedulable")  # omitempty, as the API server stores it
        return 200, _typed("Node", "v1", self.c.bump(node))

    def get_all_workloads(self, a, q, b, ct):
        items = [wl.obj for (res, _, _), wl in self.c.workloads.items() if res == a["res"]]
        return 200, self.c.listing(a["res"], "apps/v1", items, q)

    def get_workloads(self, a, q, b, ct):
        items = [wl.obj for (res, ns, _), wl in self.c.workloads.items() if res == a["res"] and ns == a["ns"]]
        return 200, self.c.listing(a["res"], "apps/v1", items, q)

    def get_workload(self, a, q, b, ct):
        wl = self.c.workload(a["res"], a["ns"], a["name"])
        return 200, _typed(wl.kind, "apps/v1", wl.obj)

    def get_scale(self, a, q, b, ct):
        return 200, self.c.scale_of(a["res"], self.c.workload(a["res"], a["ns"], a["name"]))

    def patch_scale(self, a, q, b, ct):
        wl = self.c.workload(a["res"], a["ns"], a["name"])
        patch = self._patch_body(b, ct)
        self.c.set_replicas(wl, (patch.get("spec") or {}).get("replicas", wl.obj["spec"]["replicas"]))
        return 200, self.c.scale_of(a["res"], wl)

    def put_scale(self, a, q, b, ct):
        wl = self.c.workload(a["res"], a["ns"], a["name"])
        if not isinstance(b, dict) or "spec" not in b:
            raise ApiFailure(400, "expected a Scale object")
        version = (b.get("metadata") or {}).get("resourceVersion")
        if version and version != wl.obj["metadata"]["resourceVersion"]:
            raise ApiFailure(409, f'Operation cannot be fulfilled on {a["res"]}.apps "{a["name"]}": the object has '
                                  "been modified; please apply your changes to the latest version and try again",
                             {"name": a["name"], "group": "apps", "kind": a["res"]})
        self.c.set_replicas(wl, b["spec"].get("replicas", 0))
        return 200, self.c.scale_of(a["res"], wl)

    @staticmethod
    def _patch_body(body: Any, content_type: str | None) -> dict:
        if (content_type or "").split(";")[0].strip() not in _MERGE_TYPES:
            raise ApiFailure(415, f"the body of the request was in an unknown format - accepted media types "
                                  f"include: {', '.join(_MERGE_TYPES)}")
        if not isinstance(body, dict):
            raise ApiFailure(400, "a merge patch must be a JSON object")
        return body


_EXEC = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/exec$")
_EXEC_PROTOCOL = "v4.channel.k8s.io"
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_EXEC_TIMEOUT = 120.0


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final websocket frame (server to client)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 2**16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


def _await_close(sock: socket.socket, timeout: float = 2.0) -> None:
    """Let the client answer our close frame before the socket goes (it replies, then closes)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def _run_in_pod(command: list[str]) -> tuple[bytes, bytes, dict[str, Any]]:
    """Run the exec'd command here; the Status object mirrors the kubelet's (NonZeroExitCode + ExitCode cause)."""
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=_EXEC_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        return b"", b"", {"metadata": {}, "status": "Failure", "reason": "InternalError",
                          "message": f'exec: "{command[0]}": executable file not found in $PATH: {exc}'}
    except subprocess.TimeoutExpired as exc:
        return b"", b"", {"metadata": {}, "status": "Failure", "reason": "InternalError",
                          "message": f"command timed out after {exc.timeout}s"}
    if done.returncode == 0:
        return done.stdout, done.stderr, {"metadata": {}, "status": "Success"}
    return done.stdout, done.stderr, {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": f"command terminated with non-zero exit code: exit code {done.returncode}",
        "details": {"causes": [{"reason": "ExitCode", "message": str(done.returncode)}]},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # the client keeps connections alive; every answer has a Content-Length
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _serve(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self._exec()
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query_lists = parse_qs(url.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in query_lists.items()}
        content_type = self.headers.get("Content-Type")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.server.fake.log.append(RequestLog(self.command, url.path, query_lists, content_type, body))
        try:
            if self.headers.get("Authorization") != f"Bearer {self.server.fake.settings.token}":
                raise ApiFailure(401, "Unauthorized")
            if isinstance(body, str):
                raise ApiFailure(400, "the request body is not valid JSON")
            for route, pattern in _ROUTES:
                if match := pattern.match(url.path):
                    break
            else:
                raise ApiFailure(404, "the server could not find the requested resource")
            code, payload = self.server.fake.api.handle(self.command, route, match.groupdict(), query, body, content_type)
        except ApiFailure as failure:
            code, payload = failure.code, failure.status()
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _exec(self) -> None:
        """Pod exec over a websocket: checks as the API server would, then runs the command locally."""
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        fake = self.server.fake
        fake.log.append(RequestLog(self.command, url.path, query, None, None))
        try:
            if self.headers.get("Authorization") != f"Bearer {fake.settings.token}":
                raise ApiFailure(401, "Unauthorized")
            match = _EXEC.match(url.path)
            if match is None:
                raise ApiFailure(400, "websocket upgrade is only served for pod exec")
            if _EXEC_PROTOCOL not in [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",")]:
                raise ApiFailure(400, f"the client must offer the {_EXEC_PROTOCOL} subprotocol")
            command = query.get("command") or []
            with fake.cluster.lock:
                pod = copy.deepcopy(fake.cluster.pod(match["ns"], match["name"]))
            names = [c["name"] for c in pod["spec"]["containers"]]
            container = query.get("container", [names[0] if len(names) == 1 else ""])[-1]
            if container not in names:
                raise ApiFailure(400, f"container {container or '(none)'} is not valid for pod {match['name']}")
            if pod["status"].get("phase") != "Running" or "deletionTimestamp" in pod["metadata"]:
                raise ApiFailure(400, f"unable to upgrade connection: pod {match['name']} is not running")
            if not command:
                raise ApiFailure(400, "you must specify at least 1 command")
        except ApiFailure as failure:
            self._answer(failure.code, failure.status())
            return
        accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + _WS_GUID).encode()).digest())
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.send_header("Sec-WebSocket-Protocol", _EXEC_PROTOCOL)
        self.end_headers()
        stdout, stderr, status = _run_in_pod(command)
        for channel, data in ((1, stdout), (2, stderr), (3, json.dumps(status).encode())):
            if data:
                self.wfile.write(_ws_frame(0x2, bytes([channel]) + data))
        self.wfile.write(_ws_frame(0x8, struct.pack("!H", 1000)))
        self.wfile.flush()
        _await_close(self.connection)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeKubeApi


class FakeKubeApi:
    """Start with `with FakeKubeApi() as fake:`; seed objects with `add_*`, point clients at `fake.url`."""

    def __init__(self, settings: FakeKubeSettings | None = None) -> None:
        self.settings = settings or FakeKubeSettings()
        self.cluster = _Cluster(self.settings)
        self.api = _Api(self.cluster)
        self.log: list[RequestLog] = []
        self._server = _Server(("127.0.0.1", free_port()), _Handler)
        self._server.fake = self
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._threads = [threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-kube-http",
                                         daemon=True),
                         threading.Thread(target=self._control, name="fake-kube-controller", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _control(self) -> None:
        while not self._stop.wait(self.settings.tick):
            with self.cluster.lock:
                self.cluster.reconcile()

    def api_client(self, token: str | None = None) -> k8s.ApiClient:
        """An official-client ApiClient for this fake (close it after use)."""
        configuration = k8s.Configuration(host=self.url)
        configuration.api_key = {"BearerToken": self.settings.token if token is None else token}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
        return k8s.ApiClient(configuration)

    # --- seeding and inspection for tests ------------------------------------------------------
    def add_node(self, name: str, labels: dict[str, str] | None = None, unschedulable: bool = False) -> None:
        with self.cluster.lock:
            self.cluster.add_node(name, labels or {}, unschedulable)

    def add_deployment(self, namespace: str, name: str, replicas: int, labels: dict[str, str],
                       grace: int = 1, ready: bool = True) -> None:
        with self.cluster.lock:
            self.cluster.add_workload("deployments", namespace, name, replicas, labels, grace, ready)

    def add_statefulset(self, namespace: str, name: str, replicas: int, labels: dict[str, str],
                        grace: int = 1, ready: bool = True) -> None:
        with self.cluster.lock:
            self.cluster.add_workload("statefulsets", namespace, name, replicas, labels, grace, ready)

    def add_pod(self, namespace: str, name: str, labels: dict[str, str], node: str,
                owner_kind: str | None = None) -> None:
        with self.cluster.lock:
            self.cluster.add_pod(namespace, name, labels, node, owner_kind)

    def pods(self, namespace: str | None = None, selector: str = "") -> list[dict]:
        """Snapshots of pods (sorted by name), filtered like the API would."""
        matches = _label_filter(selector)
        with self.cluster.lock:
            return sorted((copy.deepcopy(p) for (ns, _), p in self.cluster.pods.items()
                           if (namespace is None or ns == namespace) and matches(p)),
                          key=lambda p: p["metadata"]["name"])

    def node(self, name: str) -> dict:
        with self.cluster.lock:
            return copy.deepcopy(self.cluster.node(name))

    def replicas(self, resource: str, namespace: str, name: str) -> int:
        with self.cluster.lock:
            return self.cluster.workload(resource, namespace, name).obj["spec"]["replicas"]

    def wait_for(self, predicate: Callable[[FakeKubeApi], bool], timeout: float = 10.0) -> bool:
        """Poll a condition on the fake's state (bounded), for test set-up and assertions."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)
