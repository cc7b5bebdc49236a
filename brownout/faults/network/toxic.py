"""`network.toxic`: one Toxiproxy toxic on one proxy for the fault window."""

from __future__ import annotations

from typing import Any

from brownout.errors import RollbackError
from brownout.spec.faults.network import NetworkToxic
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
from brownout.faults.network.embedded.model import EXPIRES_AT

__all__ = ["NetworkToxicDriver"]


class NetworkToxicDriver(FaultDriver):
    """Handle data: `url`, `proxy`, `toxic` (name) and the `body` that was posted."""

    kind = "network.toxic"
    spec: NetworkToxic

    def _api(self) -> ToxiproxyAPI:
        return ToxiproxyAPI(toxiproxy_url(self.context, self.spec.name))

    def _action(self) -> str:
        spec = self.spec
        share = f", {spec.toxicity:.0%} of connections" if spec.toxicity < 1 else ""
        return f"{spec.toxic.describe()} on the {spec.stream} stream of proxy '{spec.proxy}'{share}"

    def resolve(self) -> Resolution:
        with self._api() as api:
            proxy = resolve_proxy(api, self.spec.proxy, self.context)
            return Resolution(self.spec.name, self.kind, self._action(), [target(api, proxy)], 1)

    def prepare(self) -> FaultHandle:
        spec = self.spec
        body = {
            "name": toxic_name(spec.name),
            "type": spec.toxic.type,
            "stream": spec.stream,
            "toxicity": spec.toxicity,
            "attributes": spec.toxic.attributes(),
        }
        url = toxiproxy_url(self.context, spec.name)
        return FaultHandle(spec.name, self.kind, {"url": url, "proxy": spec.proxy, "toxic": body["name"], "body": body})

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        body = dict(data["body"])
        body["attributes"] = {**body["attributes"], EXPIRES_AT: expires_at(self.spec)}
        with ToxiproxyAPI(data["url"]) as api:
            proxy = require_proxy(api, data["proxy"])
            api.add_toxic(data["proxy"], **body)
        return {"proxy": proxy.name, "listen": proxy.listen, "upstream": proxy.upstream, "toxic": data["toxic"],
                "action": self._action()}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        data = handle.data
        with ToxiproxyAPI(data["url"], error=RollbackError) as api:
            removed = api.remove_toxic(data["proxy"], data["toxic"])
        return {"proxy": data["proxy"], "toxic": data["toxic"], "removed": removed}
