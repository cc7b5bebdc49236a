"""Embedded proxy figures next to their goals (not a test): `python bench/proxy.py`.

- added latency p99 with no toxics (goal < 1 ms)
- throughput on loopback (goal >= 200 MB/s)
- time from the inject / rollback call to the effect on a live connection (goal < 50 ms)
"""

from __future__ import annotations

import socket
import socketserver
import statistics
import tempfile
import threading
import time

from brownout.faults.network import ToxiproxyAPI, start_embedded_proxy

_BLOB = b"\0" * (1 << 20)


class _Upstream(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        while data := sock.recv(65536):
            if data.startswith(b"SEND "):
                remaining = int(data.split()[1])
                while remaining > 0:
                    sock.sendall(_BLOB[:min(remaining, len(_BLOB))])
                    remaining -= len(_BLOB)
                return
            sock.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _connect(address: str) -> socket.socket:
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _rtts(address: str, n: int) -> list[float]:
    out = []
    with _connect(address) as sock:
        for _ in range(n):
            start = time.perf_counter()
            sock.sendall(b"p")
            sock.recv(16)
            out.append(time.perf_counter() - start)
    return out


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def _throughput(address: str, size: int) -> float:
    with _connect(address) as sock:
        start = time.perf_counter()
        sock.sendall(f"SEND {size}".encode())
        got = 0
        while chunk := sock.recv(1 << 20):
            got += len(chunk)
        return got / (time.perf_counter() - start) / 1e6


def _effect_times(api: ToxiproxyAPI, proxy: str, listen: str) -> tuple[float, float]:
    with _connect(listen) as sock:
        sock.sendall(b"w")
        sock.recv(16)
        start = time.perf_counter()
        api.add_toxic(proxy, name="lat", type="latency", attributes={"latency": 300})
        sent = time.perf_counter()
        sock.sendall(b"p")
        sock.recv(16)
        assert time.perf_counter() - sent >= 0.29, "first ping after inject was not delayed"
        inject = sent - start
        sock.sendall(b"p")  # in flight, held for 300 ms ...
        time.sleep(0.05)
        start = time.perf_counter()
        api.remove_toxic(proxy, "lat")  # ... until the rollback releases it
        sock.recv(16)
        rollback = time.perf_counter() - start
    return inject, rollback


def main() -> None:
    server = _Server(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = f"127.0.0.1:{server.server_address[1]}"
    with (
        tempfile.TemporaryDirectory() as workdir,
        start_embedded_proxy(workdir) as embedded,
        ToxiproxyAPI(embedded.url) as api,
    ):
        listen = api.create_proxy("bench", upstream).listen
        _rtts(listen, 200)  # warm up
        direct, proxied = _rtts(upstream, 2000), _rtts(listen, 2000)
        added = _p99(proxied) - _p99(direct)
        mbps = max(_throughput(listen, 200 * 10**6) for _ in range(2))
        inject, rollback = _effect_times(api, "bench", listen)
    server.shutdown()
    rows = [
        ("added latency p99, no toxics", f"{added * 1000:.3f} ms", "< 1 ms", added < 0.001),
        ("  (proxied p50 / p99)", f"{statistics.median(proxied) * 1000:.3f} / {_p99(proxied) * 1000:.3f} ms", "", None),
        ("throughput, loopback", f"{mbps:.0f} MB/s", ">= 200 MB/s", mbps >= 200),
        ("inject call -> effect", f"{inject * 1000:.1f} ms", "< 50 ms", inject < 0.05),
        ("rollback call -> effect", f"{rollback * 1000:.1f} ms", "< 50 ms", rollback < 0.05),
    ]
    for name, value, goal, ok in rows:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        print(f"{name:32} {value:>22}  goal {goal:12} {verdict}")


if __name__ == "__main__":
    main()
