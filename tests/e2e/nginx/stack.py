"""The real stack the nginx e2e tests run brownout against, all on 127.0.0.1:

    brownout load -> nginx (Debian's, a child in the foreground) -> Toxiproxy proxies -> upstream A, B
                                                                 -> upstream C (backup, direct)

Every process here is a child of the test process, stopped by its pid (also when a test
fails), and asks the kernel to SIGTERM it should the test process die first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from brownout.faults.network.embedded.launch import EmbeddedProxy, start_embedded_proxy
from brownout.processes import free_port, pdeathsig, pid_alive, wait_port

__all__ = [
    "Nginx", "Stack", "Toxiproxy", "Upstream", "access_log", "children", "nginx_config", "start_nginx",
    "start_toxiproxy", "start_upstreams",
]

UPSTREAM_SCRIPT = Path(__file__).with_name("upstream.py")


def children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                pass
    return found


def _stop(process: subprocess.Popen, grace: float = 5.0, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass
class Upstream:
    """One upstream LLM server (upstream.py) and what it reports it served."""

    name: str
    model: str
    region: str
    port: int
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/stats", timeout=5).json()

    def stop(self) -> None:
        _stop(self.process)


def start_upstreams(workdir: Path, settings: dict[str, dict[str, Any]], timeout: float = 30.0) -> dict[str, Upstream]:
    """Start one upstream.py per name (keyword arguments: model, region, capacity, ttft_ms, itl_ms), all at
    once, and wait until each listens. If one fails, all are stopped."""
    workdir.mkdir(parents=True, exist_ok=True)
    starting: dict[str, tuple[subprocess.Popen, Path]] = {}
    try:
        for name, s in settings.items():
            ready = workdir / f"upstream-{name}.ready"
            ready.unlink(missing_ok=True)
            command = [sys.executable, str(UPSTREAM_SCRIPT), "--port", "0", "--ready-file", str(ready),
                       "--model", s["model"], "--region", s["region"], "--capacity", str(s["capacity"]),
                       "--ttft-ms", str(s["ttft_ms"]), "--itl-ms", str(s["itl_ms"])]
            with open(workdir / f"upstream-{name}.log", "ab") as log:
                starting[name] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                   preexec_fn=pdeathsig), ready)  # noqa: PLW1509 - one prctl, no locks
        deadline = time.monotonic() + timeout
        for name, (process, ready) in starting.items():
            while not ready.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"upstream {name} did not start; see {workdir / f'upstream-{name}.log'}")
                time.sleep(0.02)
    except BaseException:
        for process, _ in starting.values():
            _stop(process)
        raise
    return {
        name: Upstream(name, settings[name]["model"], settings[name]["region"], json.loads(ready.read_text())["port"], process)
        for name, (process, ready) in starting.items()
    }


@dataclass
class Toxiproxy:
    """brownout's embedded Toxiproxy-compatible server with named proxies; `url` is what TOXIPROXY_URL holds."""

    server: EmbeddedProxy
    ports: dict[str, int] = field(default_factory=dict)   # proxy name -> listen port

    @property
    def url(self) -> str:
        return self.server.url

    def create(self, name: str, upstream: Upstream) -> int:
        """Create proxy `name` in front of `upstream` over the REST API, on a port it picks; returns the port."""
        response = httpx.post(f"{self.url}/proxies", timeout=5, json={
            "name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream.port}", "enabled": True})
        response.raise_for_status()
        port = int(response.json()["listen"].rsplit(":", 1)[1])
        self.ports[name] = port
        return port

    def proxies(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/proxies", timeout=5).json()

    def reset(self) -> None:
        """Every proxy enabled, every toxic removed (Toxiproxy's POST /reset)."""
        httpx.post(f"{self.url}/reset", timeout=5).raise_for_status()

    def stop(self) -> None:
        self.server.stop()


def start_toxiproxy(workdir: Path) -> Toxiproxy:
    return Toxiproxy(start_embedded_proxy(workdir))


def nginx_config(prefix: Path, port: int, servers: list[str], *, resilient: bool, read_timeout: str = "30s",
                 retry_sent: bool = False) -> str:
    """nginx.conf for a gateway in front of `servers` (lines of the `upstream` block, without `server`).

    resilient: retry the next server on connect errors, timeouts and 500/502/503, up to three tries,
    with a backup server; fragile: one server, no retries. Both stream unbuffered (SSE passes through
    as it is written) and log each request as JSON with the upstreams nginx tried. `read_timeout`
    bounds the wait for an upstream's next bytes (a paused upstream answers nothing: 504, or a retry).
    `retry_sent`: the resilient gateway also retries a POST already sent (`non_idempotent`: a hung or
    killed upstream took the request and never answered; a completion is safe to ask again).
    """
    user = "user root root;" if os.geteuid() == 0 else ""  # the default worker user (nobody) cannot enter tmp_path
    upstream = "\n".join(f"        server {line};" for line in servers)
    retry = (
        f"proxy_next_upstream error timeout http_500 http_502 http_503{' non_idempotent' if retry_sent else ''};\n"
        "            proxy_next_upstream_tries 3;"
        if resilient else "proxy_next_upstream off;"
    )
    return textwrap.dedent(f"""\
        {user}
        worker_processes 1;
        pid {prefix}/nginx.pid;
        error_log {prefix}/error.log notice;
        events {{ worker_connections 1024; }}
        http {{
            log_format brownout escape=json '{{"msec":$msec,"status":$status,"uri":"$request_uri",'
                '"upstream_addr":"$upstream_addr","upstream_status":"$upstream_status","request_time":$request_time}}';
            access_log {prefix}/access.log brownout;
            client_body_temp_path {prefix}/client_body;
            proxy_temp_path {prefix}/proxy;
            fastcgi_temp_path {prefix}/fastcgi;
            uwsgi_temp_path {prefix}/uwsgi;
            scgi_temp_path {prefix}/scgi;
            upstream llm {{
        {upstream}
            }}
            server {{
                listen 127.0.0.1:{port};
                location / {{
                    proxy_pass http://llm;
                    proxy_http_version 1.1;
                    proxy_buffering off;
                    proxy_connect_timeout 1s;
                    proxy_read_timeout {read_timeout};
                    {retry}
                }}
            }}
        }}
    """)


@dataclass
class Nginx:
    """nginx in the foreground (`daemon off`), its master a child of the test process."""

    name: str
    prefix: Path
    port: int
    process: subprocess.Popen = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def access_log(self) -> list[dict[str, Any]]:
        return access_log(self.prefix / "access.log")

    def stop(self) -> None:
        """SIGTERM the master (fast shutdown), then SIGKILL any worker it left behind."""
        workers = self.workers()
        _stop(self.process)
        for pid in workers:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


def access_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_nginx(binary: str, prefix: Path, servers: list[str], *, resilient: bool, name: str, attempts: int = 3,
                read_timeout: str = "30s", retry_sent: bool = False) -> Nginx:
    """Start nginx on a free loopback port; a port taken between the pick and the bind is retried."""
    prefix.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(prefix, port, servers, resilient=resilient, read_timeout=read_timeout,
                                      retry_sent=retry_sent))
        command = [binary, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log"), "-g", "daemon off;"]
        with open(prefix / "stdout.log", "ab") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       preexec_fn=pdeathsig)  # noqa: PLW1509 - one prctl, no locks
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and process.poll() is None:
            if wait_port("127.0.0.1", port, 0.2):
                return Nginx(name, prefix, port, process)
        _stop(process)
    raise RuntimeError(f"nginx did not start; see {prefix / 'error.log'}")


@dataclass
class Stack:
    a: Upstream           # model big, region us-east, behind proxy upstream-a
    b: Upstream           # model big, region eu-west, behind proxy upstream-b
    c: Upstream           # model small, region backup, nginx's backup server (direct)
    toxiproxy: Toxiproxy
    resilient: Nginx
    fragile: Nginx

    @property
    def upstreams(self) -> dict[str, Upstream]:
        return {"a": self.a, "b": self.b, "c": self.c}

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: upstream.stats() for name, upstream in self.upstreams.items()}

    def alive(self) -> bool:
        processes = [u.process for u in self.upstreams.values()] + [self.resilient.process, self.fragile.process]
        return all(p.poll() is None for p in processes)
