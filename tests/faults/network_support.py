"""Helpers shared by the network fault tests (no tests here): a loopback upstream, socket timing, `brownout proxy serve`.

The upstream echoes what it receives, except that a first message
`SEND <n>` makes it send n bytes and close, which the bandwidth, slicer,
limit_data and slow_close checks need.
"""

from __future__ import annotations

import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from brownout.processes import free_port, pdeathsig, wait_port

__all__ = ["connect", "echo_rtt", "proxy_serve", "read_all", "upstream_server"]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                if data.startswith(b"SEND "):
                    sock.sendall(b"x" * int(data.split()[1]))
                    return
                sock.sendall(data)
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def upstream_server() -> Iterator[str]:
    """A threaded TCP upstream on 127.0.0.1; yields `host:port`."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def connect(listen: str, timeout: float = 5.0) -> socket.socket:
    host, port = listen.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def echo_rtt(listen: str, payload: bytes = b"ping\n") -> float:
    """Seconds for one echo round trip on a fresh connection (connect excluded)."""
    with connect(listen) as sock:
        start = time.perf_counter()
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the echo came back"
            got += chunk
        return time.perf_counter() - start


def read_all(sock: socket.socket) -> tuple[bytes, int, float]:
    """Read to EOF: (data, number of recv calls that returned data, seconds until EOF)."""
    start = time.perf_counter()
    data, reads = b"", 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, reads, time.perf_counter() - start
        data += chunk
        reads += 1


@contextmanager
def proxy_serve(*args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`brownout proxy serve --listen 127.0.0.1:<free port> ARGS` in the foreground; yields (process, API URL).
    The caller may stop it; otherwise it gets SIGTERM (SIGKILL after 10 s) here."""
    listen = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen([sys.executable, "-m", "brownout", "proxy", "serve", "--listen", listen, *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                               preexec_fn=pdeathsig)  # noqa: PLW1509 - one prctl, no locks
    try:
        host, port = listen.rsplit(":", 1)
        assert wait_port(host, int(port), 20), "brownout proxy serve did not listen"
        yield process, f"http://{listen}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
