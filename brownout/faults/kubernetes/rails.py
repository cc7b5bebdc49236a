"""Safety rails for Kubernetes faults: each a named rule that raises RefusedError(rule, message).

They run in `resolve()`, so a dry run shows the refusal before anything is touched.

| rule | refuses |
|---|---|
| `kube-system` | the kube-system namespace, unless the spec sets `allow_kube_system: true` |
| `namespace-allowlist` | a namespace outside `allowed_namespaces` |
| `selector-empty` | an empty selector (it matches everything) |
| `selector-match-all` | a selector made only of exclusions (`!=`, `notin`, `!key`) |
| `no-targets` | a selector or name that matches nothing |
| `max-share` | hitting more than `select.max_share` of the matching targets (`brownout.faults.selection.pick`) |
| `max-cluster-share` | cordoning more than `max_cluster_share` of all the cluster's nodes |
"""

from __future__ import annotations

from collections.abc import Sequence

from brownout.errors import InjectError, RefusedError
from brownout.faults.kubernetes.selectors import (
    Requirement,
    is_narrowing,
    parse_selector,
)

__all__ = ["check_cluster_share", "check_matches", "check_namespace", "check_selector", "namespace_permitted"]

KUBE_SYSTEM = "kube-system"


def namespace_permitted(namespace: str, allowed: Sequence[str] | None, allow_kube_system: bool) -> bool:
    """The rails' verdict without raising, for filtering (e.g. which pods a drain may evict)."""
    if namespace == KUBE_SYSTEM and not allow_kube_system:
        return False
    return allowed is None or namespace in allowed


def check_namespace(namespace: str, allowed: Sequence[str] | None, allow_kube_system: bool) -> None:
    if namespace == KUBE_SYSTEM and not allow_kube_system:
        raise RefusedError("kube-system", "the kube-system namespace is refused unless the fault sets allow_kube_system: true")
    if allowed is not None and namespace not in allowed:
        raise RefusedError(
            "namespace-allowlist", f"namespace '{namespace}' is not in allowed_namespaces ({', '.join(allowed)})"
        )


def check_selector(text: str, what: str) -> tuple[Requirement, ...]:
    """Parse a label selector and refuse the ones that would match everything."""
    try:
        requirements = parse_selector(text)
    except ValueError as exc:
        raise InjectError(f"invalid {what}: {exc}") from exc
    if not requirements:
        raise RefusedError("selector-empty", f"the {what} is empty and would match every object")
    if not is_narrowing(requirements):
        raise RefusedError(
            "selector-match-all",
            f"the {what} '{text}' only excludes labels and would match every object without them; add a positive term",
        )
    return requirements


def check_matches(count: int, what: str) -> None:
    if count == 0:
        raise RefusedError("no-targets", f"{what} matches nothing")


def check_cluster_share(hit: int, total: int, max_share: float) -> None:
    """A zone selector matches all of a zone's nodes by design; what must stay bounded is the cluster."""
    if total and hit / total > max_share + 1e-9:
        raise RefusedError(
            "max-cluster-share",
            f"would cordon {hit} of the cluster's {total} nodes ({hit / total:.0%}), more than max_cluster_share {max_share:.0%}",
        )
