"""What the network fault drivers share: finding the API and the proxy, and the expiry safety net."""

from __future__ import annotations

import time
from typing import Any

from toxiproxy.proxy import Proxy

from brownout.errors import InjectError
from brownout.faults.base import FaultContext, ResolvedTarget
from brownout.faults.network.client import ToxiproxyAPI

__all__ = ["expires_at", "require_proxy", "resolve_proxy", "target", "toxic_name", "toxiproxy_url"]

_GRACE = 60.0
_NO_DURATION = 3600.0


def toxiproxy_url(context: FaultContext, fault: str) -> str:
    if not context.toxiproxy_url:
        raise InjectError(
            f"fault '{fault}' needs a Toxiproxy API: set TOXIPROXY_URL or run with the embedded proxy"
        )
    return context.toxiproxy_url


def require_proxy(api: ToxiproxyAPI, name: str) -> Proxy:
    """The proxy, or a clear InjectError listing what this Toxiproxy has."""
    proxies = api.proxies()
    if name not in proxies:
        known = ", ".join(sorted(proxies)) or "none"
        raise InjectError(f"Toxiproxy at {api.url} has no proxy '{name}' (proxies: {known})")
    return proxies[name]


def resolve_proxy(api: ToxiproxyAPI, name: str, context: FaultContext) -> Proxy:
    """The proxy a fault would hit. A declared one that does not exist yet resolves from its declaration:
    a dry run creates nothing on a Toxiproxy that is not the run's own."""
    for declared, listen, upstream in context.declared_proxies:
        if declared == name and name not in api.proxies():
            return Proxy(name=name, listen=listen, upstream=upstream, enabled=True)
    return require_proxy(api, name)


def target(api: ToxiproxyAPI, proxy: Proxy) -> ResolvedTarget:
    return ResolvedTarget(
        "proxy", proxy.name,
        {"toxiproxy": api.url, "listen": proxy.listen, "upstream": proxy.upstream, "enabled": proxy.enabled},
    )


def toxic_name(fault: str, suffix: str = "") -> str:
    """brownout's toxics are named after their fault, so an operator (or recover) can tell them apart."""
    return f"brownout.{fault}{suffix}"


def expires_at(spec: Any, now: float | None = None) -> float:
    """Epoch seconds when the embedded proxy undoes the fault by itself if nobody else did."""
    if spec.expire_after is not None:
        ttl = spec.expire_after
    elif spec.schedule.duration is not None:
        ttl = spec.schedule.duration + _GRACE
    else:
        ttl = _NO_DURATION
    return (time.time() if now is None else now) + ttl
