"""The embedded Toxiproxy-compatible proxy, on real sockets: each toxic's measured effect,
disable/enable, toxicity, expiry, toxiproxy-python driving it unchanged, and a hung API."""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import toxiproxy
from toxiproxy.api import APIConsumer

from brownout.errors import InjectError
from brownout.faults.network import EmbeddedProxy, ToxiproxyAPI
from tests.faults.network_support import (
    connect,
    echo_rtt,
    read_all,
)


@pytest.fixture
def proxy(api: ToxiproxyAPI, upstream: str) -> Iterator[toxiproxy.Proxy]:
    created = api.create_proxy(f"p-{uuid.uuid4().hex[:8]}", upstream)
    try:
        yield created
    finally:
        api.delete_proxy(created.name)


def _median_rtt(listen: str, n: int = 5) -> float:
    return statistics.median(echo_rtt(listen) for _ in range(n))


def _download(listen: str, size: int) -> tuple[bytes, int, float]:
    with connect(listen, timeout=10) as sock:
        sock.sendall(f"SEND {size}".encode())
        return read_all(sock)


def test_no_toxic_passes_data_unchanged(proxy: toxiproxy.Proxy) -> None:
    payload = bytes(range(256)) * 4000
    with connect(proxy.listen) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        got = b""
        while len(got) < len(payload):
            got += sock.recv(65536)
        sender.join()
    assert got == payload


def test_latency_adds_the_asked_delay(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    base = _median_rtt(proxy.listen)
    api.add_toxic(proxy.name, name="lat", type="latency", attributes={"latency": 200})
    added = _median_rtt(proxy.listen) - base
    assert 0.180 <= added <= 0.220, f"added {added * 1000:.1f}ms for 200ms asked"
    api.remove_toxic(proxy.name, "lat")
    assert _median_rtt(proxy.listen) < base + 0.050


def test_latency_applies_to_live_connections_and_keeps_stream_spacing(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    with connect(proxy.listen) as sock:
        sock.sendall(b"a")
        assert sock.recv(10) == b"a"
        api.add_toxic(proxy.name, name="lat", type="latency", attributes={"latency": 300})
        start = time.perf_counter()
        for _ in range(5):  # five writes 20ms apart arrive 300ms later, still ~20ms apart
            sock.sendall(b"b")
            time.sleep(0.02)
        got = b""
        while len(got) < 5:
            got += sock.recv(10)
        elapsed = time.perf_counter() - start
    assert 0.35 <= elapsed <= 0.55, f"5 pipelined chunks took {elapsed:.3f}s, expected ~0.38s (not 1.5s)"


def test_bandwidth_limits_throughput(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    api.add_toxic(proxy.name, name="bw", type="bandwidth", attributes={"rate": 1000})
    data, _, seconds = _download(proxy.listen, 1_000_000)
    assert len(data) == 1_000_000
    rate_kb = len(data) / seconds / 1000
    assert 800 <= rate_kb <= 1200, f"{rate_kb:.0f}KB/s for 1000KB/s asked"


def test_reset_peer_resets_the_connection(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    api.add_toxic(proxy.name, name="rst", type="reset_peer", attributes={"timeout": 0})
    with connect(proxy.listen) as sock:
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            while sock.recv(100):
                pass


def test_timeout_holds_then_closes(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    api.add_toxic(proxy.name, name="to", type="timeout", attributes={"timeout": 300})
    with connect(proxy.listen) as sock:
        start = time.perf_counter()
        sock.sendall(b"hello")
        data, _, _ = read_all(sock)
        elapsed = time.perf_counter() - start
    assert data == b""
    assert 0.25 <= elapsed <= 1.0, f"closed after {elapsed:.3f}s, expected ~0.3s"


def test_timeout_zero_hangs_until_removed(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    api.add_toxic(proxy.name, name="hole", type="timeout", attributes={"timeout": 0})
    with connect(proxy.listen, timeout=0.8) as sock:
        sock.sendall(b"hello")
        with pytest.raises(socket.timeout):
            sock.recv(100)
    api.remove_toxic(proxy.name, "hole")
    assert echo_rtt(proxy.listen) < 0.5


def test_slicer_splits_writes(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    _, plain_reads, _ = _download(proxy.listen, 2000)
    api.add_toxic(proxy.name, name="sl", type="slicer",
                  attributes={"average_size": 10, "size_variation": 5, "delay": 2000})
    data, reads, _ = _download(proxy.listen, 2000)
    assert data == b"x" * 2000
    assert plain_reads <= 3
    assert reads >= 50, f"{reads} reads for 2000 bytes sliced at ~10 bytes with 2ms pauses"


def test_limit_data_closes_after_n_bytes(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    api.add_toxic(proxy.name, name="lim", type="limit_data", attributes={"bytes": 1000})
    data, _, _ = _download(proxy.listen, 100_000)
    assert len(data) == 1000


def test_slow_close_delays_the_close(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    _, _, plain = _download(proxy.listen, 10)
    api.add_toxic(proxy.name, name="sc", type="slow_close", attributes={"delay": 500})
    data, _, slow = _download(proxy.listen, 10)
    assert data == b"x" * 10
    assert plain < 0.2
    assert 0.45 <= slow <= 1.2, f"EOF after {slow:.3f}s with a 500ms slow_close"


def test_disabled_proxy_refuses_and_closes_connections(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    with connect(proxy.listen) as open_conn:
        open_conn.sendall(b"a")
        assert open_conn.recv(10) == b"a"
        api.set_enabled(proxy.name, False)
        assert read_all(open_conn)[0] == b""  # closed by the disable
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.listen)
    again = api.set_enabled(proxy.name, True)
    assert again.listen == proxy.listen
    assert echo_rtt(proxy.listen) < 0.5


def test_toxicity_zero_has_no_effect(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    api.add_toxic(proxy.name, name="lat", type="latency", toxicity=0.0, attributes={"latency": 500})
    assert max(echo_rtt(proxy.listen) for _ in range(5)) < 0.2


def test_toxicity_is_decided_per_connection(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    api.add_toxic(proxy.name, name="lat", type="latency", toxicity=0.5, attributes={"latency": 150})
    slow = [echo_rtt(proxy.listen) > 0.1 for _ in range(30)]
    assert 3 <= sum(slow) <= 27, f"{sum(slow)}/30 connections hit at toxicity 0.5"


def test_orphaned_faults_expire(api: ToxiproxyAPI, proxy: toxiproxy.Proxy) -> None:
    soon = time.time() + 0.5
    api.add_toxic(proxy.name, name="orphan", type="latency", attributes={"latency": 300, "brownout_expires_at": soon})
    api.add_toxic(proxy.name, name="kept", type="latency", stream="upstream", attributes={"latency": 1})
    api.set_enabled(proxy.name, False, expires_at=soon)
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.listen)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and "orphan" in api.toxics(proxy.name):
        time.sleep(0.05)
    assert list(api.toxics(proxy.name)) == ["kept"]
    assert api.find_proxy(proxy.name).enabled
    assert echo_rtt(proxy.listen) < 0.2


def test_toxiproxy_python_drives_it_unchanged(embedded: EmbeddedProxy, upstream: str) -> None:
    host, port = embedded.url.removeprefix("http://").rsplit(":", 1)
    saved = (APIConsumer.host, APIConsumer.port)
    server = toxiproxy.Toxiproxy()
    server.update_api_consumer(host, int(port))
    try:
        assert server.running()
        assert b"version" in server.version()
        proxy = server.create(upstream=upstream, name="tp-python")
        assert server.get_proxy("tp-python").upstream == upstream
        proxy.add_toxic(type="latency", attributes={"latency": 100})
        toxic = proxy.get_toxic("latency_downstream")
        assert (toxic.type, toxic.stream, toxic.attributes["latency"]) == ("latency", "downstream", 100)
        assert 0.09 <= echo_rtt(proxy.listen) <= 0.2
        with proxy.down(), pytest.raises(ConnectionRefusedError):
            connect(proxy.listen)
        proxy.destroy_toxic("latency_downstream")
        assert proxy.toxics() == {}
        assert server.reset()
        assert server.destroy(proxy)
        assert server.get_proxy("tp-python") is None
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_hung_control_api_fails_fast_naming_the_url() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        start = time.monotonic()
        with pytest.raises(InjectError, match=url.replace(".", r"\.")):
            ToxiproxyAPI(url, timeout=1.0).proxies()
        assert time.monotonic() - start < 5
    finally:
        listener.close()


def test_dead_control_api_fails_fast() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(InjectError, match="unreachable"):
        ToxiproxyAPI(url, timeout=1.0).version()
