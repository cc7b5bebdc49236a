"""The experiment's `proxies:` on a Toxiproxy API: created and deleted, reused (never clobbered), journal-safe."""

from __future__ import annotations

import json

import pytest

from brownout.errors import InjectError
from brownout.spec.faults.network import DeclaredProxy, NetworkProxyDown
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.network import DeclaredProxyDriver, NetworkProxyDownDriver
from brownout.faults.network.client import ToxiproxyAPI
from brownout.processes import free_port
from tests.faults.network_support import echo_rtt


def declared(name: str, listen: str, upstream: str, url: str, owned: bool = False) -> DeclaredProxyDriver:
    return DeclaredProxyDriver(DeclaredProxy(name=name, listen=listen, upstream=upstream),
                               FaultContext(toxiproxy_url=url, toxiproxy_owned=owned))


def test_created_on_the_declared_port_and_deleted_after(embedded, api: ToxiproxyAPI, upstream: str):
    listen = f"127.0.0.1:{free_port()}"
    driver = declared("region-a", listen, upstream, embedded.url)
    assert driver.resolve().action.startswith("create proxy")
    handle = driver.prepare()
    assert driver.inject(handle)["reused"] is False
    assert echo_rtt(listen) < 5  # listening where the gateway was pointed, forwarding to the upstream
    journaled = FaultHandle.from_dict(json.loads(json.dumps(handle.to_dict())))
    assert DeclaredProxyDriver.rollback(journaled) == {"proxy": "region-a", "deleted": True}
    assert api.find_proxy("region-a") is None
    assert DeclaredProxyDriver.rollback(journaled) == {"proxy": "region-a", "deleted": False}  # idempotent


def test_an_existing_proxy_is_reused_and_kept_or_refused_when_it_differs(embedded, api: ToxiproxyAPI, upstream: str):
    listen = f"127.0.0.1:{free_port()}"
    api.create_proxy("kept", upstream, listen)
    try:
        driver = declared("kept", listen, upstream, embedded.url)
        assert driver.resolve().action.startswith("reuse proxy")
        handle = driver.prepare()
        assert driver.inject(handle)["reused"] is True
        assert DeclaredProxyDriver.rollback(handle) == {"proxy": "kept", "deleted": False, "reused": True}
        assert api.find_proxy("kept") is not None
        other = declared("kept", f"127.0.0.1:{free_port()}", upstream, embedded.url)
        with pytest.raises(InjectError, match="already exists .* not the declared"):
            other.prepare()
        assert api.find_proxy("kept").listen == listen
    finally:
        api.delete_proxy("kept")


def test_proxies_of_a_dead_embedded_proxy_went_with_it(upstream: str):
    gone = f"http://127.0.0.1:{free_port()}"
    handle = FaultHandle("region-a", "network.declared-proxy", {
        "url": gone, "proxy": "region-a", "listen": "127.0.0.1:1", "upstream": upstream, "enabled": True,
        "reused": False, "owned": True})
    assert DeclaredProxyDriver.rollback(handle)["gone_with_embedded_proxy"] is True
    handle.data["owned"] = False  # someone else's Toxiproxy that does not answer: an error, never "done"
    with pytest.raises(Exception, match="unreachable"):
        DeclaredProxyDriver.rollback(handle)


def test_a_dry_run_resolves_a_declared_proxy_not_created_yet(embedded):
    spec = NetworkProxyDown(kind="network.proxy-down", name="partition", proxy="region-b")
    declared = (("region-b", "127.0.0.1:18002", "127.0.0.1:8002"),)
    resolution = NetworkProxyDownDriver(spec, FaultContext(toxiproxy_url=embedded.url, declared_proxies=declared)).resolve()
    assert [(t.name, t.detail["listen"], t.detail["upstream"]) for t in resolution.targets] == \
        [("region-b", "127.0.0.1:18002", "127.0.0.1:8002")]
    with pytest.raises(InjectError, match="has no proxy 'region-b'"):
        NetworkProxyDownDriver(spec, FaultContext(toxiproxy_url=embedded.url)).resolve()
