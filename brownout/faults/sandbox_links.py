"""Routing a sandbox link through Toxiproxy, so network faults act on it as on a real deployment.

A run whose network faults name the proxy `sandbox-embedder` gets that proxy created
(upstream: the sandbox's embedding service) and the gateway's embedding calls routed
through it; a `network.toxic` latency on it is then slow embeddings exactly as on a
real RAG pipeline with Toxiproxy in front of its embedding service. The routing is
journaled and undone like a fault, so an attached sandbox never keeps pointing at a
proxy that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.network import EMBEDDER_PROXY
from brownout.faults.base import FaultDriver, FaultHandle, Resolution, ResolvedTarget
from brownout.faults.network.client import ToxiproxyAPI
from brownout.faults.sandbox import control_call, sandbox_state

__all__ = ["EMBEDDER_PROXY", "LinkSpec", "SandboxEmbedderLinkDriver", "needs_embedder_link"]



@dataclass(frozen=True)
class LinkSpec:
    """Run set-up, not a user's fault: named so the journal and logs can say what it was."""

    name: str = "sandbox-embedder-link"
    kind: str = "sandbox.embedder-link"


def needs_embedder_link(faults: list[Any]) -> bool:
    return any(f.kind.startswith("network.") and getattr(f, "proxy", None) == EMBEDDER_PROXY for f in faults)


class SandboxEmbedderLinkDriver(FaultDriver):
    """Creates the `sandbox-embedder` proxy and routes the gateway's embedding calls through it."""

    kind = "sandbox.embedder-link"

    def _urls(self) -> tuple[str, str]:
        if not self.context.sandbox_control or not self.context.toxiproxy_url:
            raise InjectError("routing the sandbox's embedder through Toxiproxy needs a sandbox target and a Toxiproxy")
        return self.context.sandbox_control, self.context.toxiproxy_url

    def resolve(self) -> Resolution:
        control, toxiproxy = self._urls()
        embedder = urlparse(sandbox_state(control)["embedder_url"])
        return Resolution(self.spec.name, self.kind, f"route gateway -> embedder through proxy {EMBEDDER_PROXY} at {toxiproxy}",
                          [ResolvedTarget("link", "gateway->embedder", {"upstream": embedder.netloc})], 1)

    def prepare(self) -> FaultHandle:
        control, toxiproxy = self._urls()
        embedder = urlparse(sandbox_state(control)["embedder_url"])
        return FaultHandle(self.spec.name, self.kind, {
            "control_url": control, "toxiproxy_url": toxiproxy, "proxy": EMBEDDER_PROXY, "upstream": embedder.netloc,
        })

    @staticmethod
    def ensure_proxy(handle: FaultHandle) -> str:
        """The proxy's listen address, creating the proxy when missing (a dry run stops here)."""
        with ToxiproxyAPI(handle.data["toxiproxy_url"]) as api:
            proxy = api.find_proxy(EMBEDDER_PROXY) or api.create_proxy(EMBEDDER_PROXY, handle.data["upstream"])
        return str(proxy.listen)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        via = f"http://{self.ensure_proxy(handle)}"
        control_call("POST", f"{handle.data['control_url']}/sandbox/links/embedder", InjectError, {"via": via})
        return {"via": via, "upstream": handle.data["upstream"]}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        control_call("POST", f"{handle.data['control_url']}/sandbox/links/embedder", RollbackError, {"via": None})
        with ToxiproxyAPI(handle.data["toxiproxy_url"], error=RollbackError) as api:
            existed = api.find_proxy(handle.data["proxy"]) is not None
            if existed:
                api.delete_proxy(handle.data["proxy"])
        return {"direct": True, "proxy_deleted": existed}
