"""network.toxic and network.proxy-down drivers against the embedded proxy: resolve, inject,
rollback from the JSON handle alone (twice), partial inject, hung API, and the spec models."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.network import NetworkProxyDown, NetworkToxic
from brownout.spec.units import FROM_FILE
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.network import (
    EmbeddedProxy,
    NetworkProxyDownDriver,
    NetworkToxicDriver,
    ToxiproxyAPI,
)
from brownout.faults.registry import DRIVERS
from tests.faults.network_support import connect, echo_rtt


@pytest.fixture
def proxy_name(api: ToxiproxyAPI, upstream: str) -> Iterator[str]:
    name = f"llm-{uuid.uuid4().hex[:8]}"
    api.create_proxy(name, upstream)
    try:
        yield name
    finally:
        api.delete_proxy(name)


def _spec(cls: type, **fields: object) -> object:
    return cls.model_validate(fields, context={FROM_FILE: True})


def _roundtrip(handle: FaultHandle) -> FaultHandle:
    return FaultHandle.from_dict(json.loads(json.dumps(handle.to_dict())))


def test_registry_knows_both_kinds() -> None:
    assert DRIVERS["network.toxic"] is NetworkToxicDriver
    assert DRIVERS["network.proxy-down"] is NetworkProxyDownDriver


def test_spec_types_toxic_attributes_with_units() -> None:
    spec = _spec(NetworkToxic, kind="network.toxic", name="slow", proxy="llm",
                 toxic={"type": "bandwidth", "rate": "2MB/s"})
    assert spec.toxic.attributes() == {"rate": 2000}
    spec = _spec(NetworkToxic, kind="network.toxic", name="cut", proxy="llm",
                 toxic={"type": "slicer", "average_size": "64B", "size_variation": "16B", "delay": "1.5ms"})
    assert spec.toxic.attributes() == {"average_size": 64, "size_variation": 16, "delay": 1500}
    with pytest.raises(ValidationError, match="not a bandwidth"):
        _spec(NetworkToxic, kind="network.toxic", name="x", proxy="llm", toxic={"type": "bandwidth", "rate": 100})
    with pytest.raises(ValidationError, match="whole milliseconds"):
        _spec(NetworkToxic, kind="network.toxic", name="x", proxy="llm", toxic={"type": "latency", "latency": "1.5ms"})
    with pytest.raises(ValidationError, match="jiter"):
        _spec(NetworkToxic, kind="network.toxic", name="x", proxy="llm", toxic={"type": "latency", "latency": "1s", "jiter": "1ms"})


def test_toxic_resolve_names_proxy_listen_and_upstream(embedded: EmbeddedProxy, api: ToxiproxyAPI, proxy_name: str, upstream: str) -> None:
    spec = _spec(NetworkToxic, kind="network.toxic", name="slow", proxy=proxy_name,
                 toxic={"type": "latency", "latency": "200ms", "jitter": "10ms"})
    resolution = NetworkToxicDriver(spec, FaultContext(toxiproxy_url=embedded.url)).resolve()
    (target,) = resolution.targets
    assert target.name == proxy_name
    assert target.detail["upstream"] == upstream
    assert target.detail["listen"] == api.find_proxy(proxy_name).listen
    assert "latency 200ms +/- 10ms" in resolution.action
    assert api.toxics(proxy_name) == {}  # no side effect


def test_resolve_refuses_a_missing_proxy_or_url(embedded: EmbeddedProxy, proxy_name: str) -> None:
    spec = _spec(NetworkToxic, kind="network.toxic", name="slow", proxy="nope", toxic={"type": "latency", "latency": "1s"})
    with pytest.raises(InjectError, match=rf"no proxy 'nope' \(proxies: .*{proxy_name}"):
        NetworkToxicDriver(spec, FaultContext(toxiproxy_url=embedded.url)).resolve()
    with pytest.raises(InjectError, match="TOXIPROXY_URL"):
        NetworkToxicDriver(spec, FaultContext()).resolve()


def test_toxic_inject_then_rollback_from_the_handle_twice(embedded: EmbeddedProxy, api: ToxiproxyAPI, proxy_name: str) -> None:
    spec = _spec(NetworkToxic, kind="network.toxic", name="slow", proxy=proxy_name,
                 schedule={"duration": "30s"}, toxic={"type": "latency", "latency": "200ms"})
    driver = NetworkToxicDriver(spec, FaultContext(toxiproxy_url=embedded.url))
    listen = api.find_proxy(proxy_name).listen
    handle = driver.prepare()
    assert api.toxics(proxy_name) == {}
    details = driver.inject(handle)
    assert details["toxic"] == "brownout.slow"
    (toxic,) = api.toxics(proxy_name).values()
    assert toxic.attributes["latency"] == 200
    assert 85 < toxic.attributes["brownout_expires_at"] - time.time() <= 90  # duration + 60s grace
    assert echo_rtt(listen) >= 0.18
    handle = _roundtrip(handle)
    assert NetworkToxicDriver.rollback(handle)["removed"] is True
    assert NetworkToxicDriver.rollback(handle)["removed"] is False
    assert api.toxics(proxy_name) == {}
    assert echo_rtt(listen) < 0.1


def test_rollback_after_a_failed_inject_is_safe(embedded: EmbeddedProxy, api: ToxiproxyAPI, proxy_name: str) -> None:
    api.add_toxic(proxy_name, name="brownout.dup", type="latency", attributes={"latency": 1})
    spec = _spec(NetworkToxic, kind="network.toxic", name="dup", proxy=proxy_name, toxic={"type": "latency", "latency": "1s"})
    driver = NetworkToxicDriver(spec, FaultContext(toxiproxy_url=embedded.url))
    handle = driver.prepare()
    with pytest.raises(InjectError, match="toxic already exists"):
        driver.inject(handle)
    NetworkToxicDriver.rollback(handle)
    assert api.toxics(proxy_name) == {}


def test_proxy_down_refuse(embedded: EmbeddedProxy, api: ToxiproxyAPI, proxy_name: str) -> None:
    spec = _spec(NetworkProxyDown, kind="network.proxy-down", name="down", proxy=proxy_name, mode="refuse")
    driver = NetworkProxyDownDriver(spec, FaultContext(toxiproxy_url=embedded.url))
    listen = api.find_proxy(proxy_name).listen
    handle = driver.prepare()
    driver.inject(handle)
    with pytest.raises(ConnectionRefusedError):
        connect(listen)
    handle = _roundtrip(handle)
    NetworkProxyDownDriver.rollback(handle)
    NetworkProxyDownDriver.rollback(handle)
    assert api.find_proxy(proxy_name).enabled
    assert echo_rtt(listen) < 0.2


def test_proxy_down_blackhole(embedded: EmbeddedProxy, api: ToxiproxyAPI, proxy_name: str) -> None:
    spec = _spec(NetworkProxyDown, kind="network.proxy-down", name="hole", proxy=proxy_name, mode="blackhole")
    driver = NetworkProxyDownDriver(spec, FaultContext(toxiproxy_url=embedded.url))
    listen = api.find_proxy(proxy_name).listen
    handle = driver.prepare()
    driver.inject(handle)
    with connect(listen, timeout=0.8) as sock:
        sock.sendall(b"hello")
        with pytest.raises(socket.timeout):
            sock.recv(10)
    assert sorted(NetworkProxyDownDriver.rollback(_roundtrip(handle))["removed"]) == ["brownout.hole.downstream", "brownout.hole.upstream"]
    assert NetworkProxyDownDriver.rollback(handle)["removed"] == []
    assert echo_rtt(listen) < 0.2


def test_hung_toxiproxy_gives_clear_errors_within_seconds() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    spec = _spec(NetworkToxic, kind="network.toxic", name="slow", proxy="llm", toxic={"type": "latency", "latency": "1s"})
    driver = NetworkToxicDriver(spec, FaultContext(toxiproxy_url=url))
    try:
        start = time.monotonic()
        handle = driver.prepare()
        with pytest.raises(InjectError, match=f"{url}.*no answer within"):
            driver.inject(handle)
        with pytest.raises(RollbackError, match=f"{url}.*no answer within"):
            NetworkToxicDriver.rollback(handle)
        assert time.monotonic() - start < 15
    finally:
        listener.close()
