"""A real Prometheus (Debian's package) scraping a tiny /metrics endpoint, for probe and guard tests."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from brownout.processes import free_port, pdeathsig, terminate
from tests.support.debian import find_or_install

__all__ = ["Exporter", "PrometheusServer", "find_or_install_prometheus", "start_prometheus"]

_JOB = "brownout_test"


class Exporter:
    """Serves `brownout_test_value <value>` on /metrics; tests change `value`."""

    def __init__(self) -> None:
        self.value = 0.0
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = f"# TYPE brownout_test_value gauge\nbrownout_test_value {exporter.value}\n".encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="exporter", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def find_or_install_prometheus() -> str | None:
    """The prometheus binary, installing Debian's package when missing; None when impossible."""
    if Path("/usr/bin/prometheus").exists():
        return "/usr/bin/prometheus"
    return find_or_install("prometheus", "prometheus")


@dataclass
class PrometheusServer:
    url: str
    process: subprocess.Popen
    exporter: Exporter

    def query(self, promql: str) -> dict:
        return httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5, trust_env=False).json()

    def wait_for(self, promql: str, expected: float, timeout: float = 30.0) -> None:
        """Until the query's first value equals `expected` (the next scrape has landed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)["data"]["result"]
            if result and float(result[0]["value"][1]) == expected:
                return
            time.sleep(0.2)
        raise TimeoutError(f"{promql} never became {expected}")

    def stop(self) -> None:
        terminate([self.process.pid], grace=10)
        self.process.wait(10)
        self.exporter.close()


def start_prometheus(binary: str, workdir: Path, timeout: float = 60.0) -> PrometheusServer:
    exporter = Exporter()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: {_JOB}\n    static_configs:\n      - targets: ['{exporter.address}']\n"
    )
    port = free_port()
    with (workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=pdeathsig,  # noqa: PLW1509 - one prctl, no locks
        )
    server = PrometheusServer(f"http://127.0.0.1:{port}", process, exporter)
    try:
        server_ready = time.monotonic() + timeout
        while time.monotonic() < server_ready:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{server.url}/-/ready", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        server.wait_for(f'up{{job="{_JOB}"}}', 1.0, timeout=max(1.0, server_ready - time.monotonic()))
    except BaseException:
        server.stop()
        raise
    return server
