"""`network.proxy-down`: a proxy refuses connections (disabled) or blackholes them (timeout-0 toxics)."""

from __future__ import annotations

from typing import Any

from brownout.errors import RollbackError
from brownout.spec.faults.network import NetworkProxyDown
from brownout.faults.base import FaultDriver, FaultHandle, Resolution
from brownout.faults.network.client import ToxiproxyAPI
from brownout.faults.network.common import (
    expires_at,
    require_proxy,
    resolve_proxy,
    target,
    toxic_name,
    toxiproxy_url,
)
from brownout.faults.network.embedded.model import EXPIRES_AT, STREAMS

__all__ = ["NetworkProxyDownDriver"]


class NetworkProxyDownDriver(FaultDriver):
    """Handle data: `url`, `proxy`, `mode`, and `toxics` (blackhole) or `was_enabled` (refuse)."""

    kind = "network.proxy-down"
    spec: NetworkProxyDown

    def _api(self) -> ToxiproxyAPI:
        return ToxiproxyAPI(toxiproxy_url(self.context, self.spec.name))

    def _action(self) -> str:
        if self.spec.mode == "refuse":
            return f"disable proxy '{self.spec.proxy}': connections refused, open ones closed"
        return f"blackhole proxy '{self.spec.proxy}': connections accepted, data dropped both ways"

    def resolve(self) -> Resolution:
        with self._api() as api:
            proxy = resolve_proxy(api, self.spec.proxy, self.context)
            return Resolution(self.spec.name, self.kind, self._action(), [target(api, proxy)], 1)

    def prepare(self) -> FaultHandle:
        data: dict[str, Any] = {"url": toxiproxy_url(self.context, self.spec.name), "proxy": self.spec.proxy,
                                "mode": self.spec.mode}
        if self.spec.mode == "blackhole":
            data["toxics"] = [toxic_name(self.spec.name, f".{stream}") for stream in STREAMS]
        else:
            with self._api() as api:  # a read: whether to re-enable on rollback
                data["was_enabled"] = bool(require_proxy(api, self.spec.proxy).enabled)
        return FaultHandle(self.spec.name, self.kind, data)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        expiry = expires_at(self.spec)
        with ToxiproxyAPI(data["url"]) as api:
            proxy = require_proxy(api, data["proxy"])
            if data["mode"] == "refuse":
                if data["was_enabled"]:
                    api.set_enabled(data["proxy"], False, expires_at=expiry)
            else:
                for stream, name in zip(STREAMS, data["toxics"]):
                    api.add_toxic(data["proxy"], name=name, type="timeout", stream=stream,
                                  attributes={"timeout": 0, EXPIRES_AT: expiry})
        return {"proxy": proxy.name, "listen": proxy.listen, "upstream": proxy.upstream, "action": self._action()}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        with ToxiproxyAPI(data["url"], error=RollbackError) as api:
            if data["mode"] == "refuse":
                if data["was_enabled"]:
                    api.set_enabled(data["proxy"], True)
                return {"proxy": data["proxy"], "enabled": bool(data["was_enabled"])}
            removed = [name for name in data["toxics"] if api.remove_toxic(data["proxy"], name)]
        return {"proxy": data["proxy"], "removed": removed}
