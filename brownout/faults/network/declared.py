"""The experiment's `proxies:`: Toxiproxy proxies created before the load starts and deleted after the run.

Run set-up, journaled like a fault (intent before the proxy is created), so `brownout
recover` deletes what a killed run created. A proxy that already exists with the same
listen and upstream is reused and left in place; one with the same name but another
address is refused rather than clobbered (it belongs to someone else's set-up).
"""

from __future__ import annotations

from typing import Any

import requests

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.network import DeclaredProxy
from brownout.faults.base import FaultDriver, FaultHandle, Resolution, ResolvedTarget
from brownout.faults.network.client import ToxiproxyAPI
from brownout.faults.network.common import toxiproxy_url

__all__ = ["DeclaredProxyDriver"]


class DeclaredProxyDriver(FaultDriver):
    """Handle data: `url`, `proxy`, `listen`, `upstream`, `enabled`, `reused` (then never deleted) and `owned`
    (on the run's own embedded proxy, whose proxies went with it if it is gone)."""

    kind = "network.declared-proxy"
    spec: DeclaredProxy

    def _reused(self, api: ToxiproxyAPI) -> bool:
        existing = api.find_proxy(self.spec.name)
        if existing is None:
            return False
        if (existing.listen, existing.upstream) != (self.spec.listen, self.spec.upstream):
            raise InjectError(
                f"proxy '{self.spec.name}' already exists on Toxiproxy at {api.url} with listen {existing.listen} and "
                f"upstream {existing.upstream}, not the declared {self.spec.listen} -> {self.spec.upstream}: "
                "rename the declared proxy or delete that one")
        return True

    def resolve(self) -> Resolution:
        url = toxiproxy_url(self.context, self.spec.name)
        with ToxiproxyAPI(url) as api:
            reused = self._reused(api)
        action = "reuse" if reused else "create"
        return Resolution(self.spec.name, self.kind, f"{action} proxy {self.spec.listen} -> {self.spec.upstream} at {url}",
                          [ResolvedTarget("proxy", self.spec.name, {"listen": self.spec.listen, "upstream": self.spec.upstream})], 1)

    def prepare(self) -> FaultHandle:
        url = toxiproxy_url(self.context, self.spec.name)
        with ToxiproxyAPI(url) as api:
            reused = self._reused(api)
        return FaultHandle(self.spec.name, self.kind, {
            "url": url, "proxy": self.spec.name, "listen": self.spec.listen, "upstream": self.spec.upstream,
            "enabled": self.spec.enabled, "reused": reused, "owned": self.context.toxiproxy_owned,
        })

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        if not data["reused"]:
            with ToxiproxyAPI(data["url"]) as api:
                api.create_proxy(data["proxy"], data["upstream"], data["listen"], data["enabled"])
        return {"proxy": data["proxy"], "listen": data["listen"], "upstream": data["upstream"], "reused": data["reused"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        if data["reused"]:
            return {"proxy": data["proxy"], "deleted": False, "reused": True}
        with ToxiproxyAPI(data["url"], error=RollbackError) as api:
            try:
                existed = api.find_proxy(data["proxy"]) is not None
            except RollbackError as exc:
                if data.get("owned") and isinstance(exc.__cause__, requests.ConnectionError):
                    return {"proxy": data["proxy"], "deleted": False, "gone_with_embedded_proxy": True}
                raise
            if existed:
                api.delete_proxy(data["proxy"])
        return {"proxy": data["proxy"], "deleted": existed}
