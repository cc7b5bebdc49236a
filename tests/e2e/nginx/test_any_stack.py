"""Faults for any stack, with brownout alone, against Debian's nginx in front of two upstream model servers.

No Toxiproxy set up by the test: each run declares its proxies (`proxies:`) and creates them on
its own embedded proxy, on the ports nginx was configured with once. One run per gateway, side
by side, each with its own upstream A so their faults never meet; in sequence, on A:

    region-a partitioned (network.proxy-down on a declared proxy)   1.0 - 3.0 s of the fault phase
    A paused (process.pause, SIGSTOP: connections open, no answer)  4.0 - 7.0 s
    A frozen by a command (`kill -STOP`, as `docker compose pause`)  8.0 - 11.0 s
    A killed (process.kill SIGKILL; its restart command at rollback) 12.0 - 13.5 s

The resilient nginx (retries on errors and timeouts, POSTs already sent included, B behind it) keeps answering in every
window; the fragile one (A only, no retries) fails in every window, and so fails the run.
A third run is SIGKILLed mid-fault and `brownout recover` undoes what it left.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from brownout.faults.network.client import ToxiproxyAPI
from brownout.faults.network.embedded import start_embedded_proxy
from brownout.rundata.records import load_records
from brownout.processes import free_port, pid_alive
from tests.e2e.conftest import (
    assert_passed_or_harness_inconclusive,
    journal_entries,
    popen_brownout,
    processes_with_marker,
    run_brownout,
    wait_for,
)
from tests.e2e.nginx.stack import UPSTREAM_SCRIPT, Nginx, Upstream, start_nginx, start_upstreams
from tests.faults.process_support import process_state

pytestmark = pytest.mark.slow

READ_TIMEOUT = 1.5
"""nginx's proxy_read_timeout: how long it waits on a paused upstream before a 504 (fragile) or a retry (resilient)."""
TIMING = {"ttft_ms": 50.0, "itl_ms": 10.0, "capacity": 2}
WINDOWS = {"region-a-partition": ("1s", "2s"), "a-paused": ("4s", "3s"), "a-frozen-by-command": ("8s", "3s"),
           "a-killed": ("12s", "1500ms")}
SETTLE = {"a-paused": READ_TIMEOUT, "a-frozen-by-command": READ_TIMEOUT}
"""Requests sent in a pause's last READ_TIMEOUT seconds are answered once it ends: judged are the ones before."""


@dataclass
class Gateway:
    nginx: Nginx
    a_ready: Path                         # the ready file on A's command line: what its cmdline selector names
    a: Upstream
    ports: dict[str, int]                 # declared proxy name -> the port nginx reaches it on
    upstreams: dict[str, Upstream]        # declared proxy name -> its upstream
    restarted: Path                       # ready file the restarted A writes ({"port", "pid"})

    def a_pid(self) -> int:
        """A's pid now: the restarted one once the kill's restart ran."""
        return json.loads(self.restarted.read_text())["pid"] if self.restarted.exists() else self.a.process.pid


@dataclass
class AnyStack:
    resilient: Gateway
    fragile: Gateway
    r: Upstream                           # the SIGKILL run's own upstream


@pytest.fixture(autouse=True)
def fresh_proxies() -> Iterator[None]:
    """This module has no shared Toxiproxy to reset: every run brings its own proxies."""
    yield


@pytest.fixture(scope="module")
def any_stack(nginx_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnyStack]:
    workdir = tmp_path_factory.mktemp("any-stack")
    started: list[Any] = []
    restarted: list[Path] = []
    try:
        up = start_upstreams(workdir, {
            "a-resilient": {"model": "big", "region": "us-east", **TIMING},
            "b": {"model": "big", "region": "eu-west", **TIMING},
            "a-fragile": {"model": "big", "region": "us-east", **TIMING},
            "r": {"model": "big", "region": "us-east", **TIMING},
        })
        started += up.values()
        gateways = {}
        for name, proxied in (("resilient", {"region-a": up["a-resilient"], "region-b": up["b"]}),
                              ("fragile", {"region-a": up["a-fragile"]})):
            ports = {proxy: free_port() for proxy in proxied}
            servers = [f"127.0.0.1:{port} max_fails=0" for port in ports.values()]
            nginx = start_nginx(nginx_binary, workdir / f"nginx-{name}", servers, resilient=name == "resilient",
                                name=name, read_timeout=f"{round(READ_TIMEOUT * 1000)}ms", retry_sent=True)
            started.append(nginx)
            restarted.append(workdir / f"a-{name}-restarted.ready")
            gateways[name] = Gateway(nginx, workdir / f"upstream-a-{name}.ready", proxied["region-a"], ports, proxied,
                                     restarted[-1])
        yield AnyStack(gateways["resilient"], gateways["fragile"], up["r"])
    finally:
        for ready in restarted:  # an A started again by a kill's restart command is nobody's child: stop it by pid
            if ready.exists():
                pid = json.loads(ready.read_text())["pid"]
                if pid_alive(pid) and b"upstream.py" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
        for process in reversed(started):
            if process.process.poll() is None:
                os.kill(process.process.pid, signal.SIGCONT)
            process.stop()


def experiment(name: str, base_url: str, proxies: list[dict[str, Any]], faults: list[dict[str, Any]],
               phases: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "brownout/v1", "kind": "Experiment",
        "metadata": {"name": name, "description": "faults for any stack: nginx in front of two upstream model servers"},
        "target": {"model": "big", "endpoint": {"base_url": base_url}},
        "load": {"request": "chat", "stream": True, "arrival": {"kind": "constant", "rate": "5/s"},
                 "dataset": {"kind": "synthetic", "input_tokens": {"dist": "fixed", "mean": 32},
                             "output_tokens": {"dist": "fixed", "mean": 16}},
                 "timeout": "10s", "drain": "3s", "seed": 11},
        "phases": phases,
        "proxies": proxies,
        "faults": faults,
        "slos": [{"name": "available-during-fault", "metric": "success_rate", "phase": "fault", "op": ">=",
                  "threshold": "90%", "severity": "critical"}],
        "scoring": {"bucket": "1s"},
    }


def sequence(gateway: Gateway) -> dict[str, Any]:
    """The four fault kinds in sequence on the gateway's A, through proxies the run declares."""
    a = gateway.a
    pid = a.process.pid
    proxies = [{"name": proxy, "listen": f"127.0.0.1:{port}", "upstream": f"127.0.0.1:{gateway.upstreams[proxy].port}"}
               for proxy, port in gateway.ports.items()]
    restart = shlex.join(["env", "-u", "BROWNOUT_TEST_MARKER", sys.executable, str(UPSTREAM_SCRIPT), "--port", str(a.port),
                          "--ready-file", str(gateway.restarted), "--model", "big", "--region", "us-east",
                          "--capacity", "2", "--ttft-ms", "50", "--itl-ms", "10"])
    faults = [
        {"kind": "network.proxy-down", "proxy": "region-a", "mode": "refuse", "region_outage": "us-east"},
        {"kind": "process.pause", "select": {"cmdline": rf"--ready-file {re.escape(str(gateway.a_ready))} "}},
        {"kind": "command", "inject": {"run": ["kill", "-STOP", str(pid)]},
         "check": {"run": f"grep -q '^State:.*stopped' /proc/{pid}/status", "shell": True},
         "rollback": {"run": ["kill", "-CONT", str(pid)]}},
        {"kind": "process.kill", "select": {"port": a.port},
         "restart": {"run": f"{restart} > {shlex.quote(str(gateway.restarted))}.log 2>&1 < /dev/null &", "shell": True}},
    ]
    for fault, (name, (start, duration)) in zip(faults, WINDOWS.items()):
        fault.update(name=name, schedule={"start": start, "duration": duration})
    return experiment(f"any-stack-{gateway.nginx.name}", gateway.nginx.url, proxies, faults,
                      {"warmup": "1s", "baseline": "3s", "fault": "15s", "recovery": "3s"})


def env_for(marker: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TOXIPROXY_URL", "GITHUB_STEP_SUMMARY")}
    return {**env, "BROWNOUT_HOME": str(marker / "home"), "BROWNOUT_TEST_MARKER": str(marker), **extra}


def reap(marker: Path) -> None:
    wait_for(lambda: not processes_with_marker(str(marker)), 10)
    for pid in processes_with_marker(str(marker)):
        os.kill(pid, signal.SIGKILL)


def share_answered(records: pd.DataFrame, window: dict[str, Any], settle: float) -> tuple[float, int]:
    sent = records[(records["t_send"] >= window["injected_at"] + 0.1) &
                   (records["t_send"] < window["rolled_back_at"] - max(settle, 0.1))]
    return float(sent["outcome"].isin(["ok", "degraded"]).mean()), len(sent)


def test_each_fault_kind_against_a_resilient_and_a_fragile_nginx(any_stack: AnyStack, tmp_path: Path):
    procs = {}
    for name in ("resilient", "fragile"):
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "experiment.yaml"
        path.write_text(yaml.safe_dump(sequence(getattr(any_stack, name)), sort_keys=False))
        procs[name] = (folder, subprocess.Popen(
            [sys.executable, "-m", "brownout", "run", str(path), "--out", str(folder / "out"), "--quiet"],
            env=env_for(folder), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    runs = {}
    for name, (folder, proc) in procs.items():
        try:
            output, _ = proc.communicate(timeout=150)
        finally:
            reap(folder)
        results = json.loads((folder / "out" / "results.json").read_text())
        runs[name] = (proc.returncode, output, results, load_records(folder / "out" / p for p in results["records_paths"]))

    code, output, results, records = runs["resilient"]
    assert_passed_or_harness_inconclusive(code, output, results)
    for name, settle in [(n, SETTLE.get(n, 0.0)) for n in WINDOWS]:
        window = next(f for f in results["timeline"]["faults"] if f["fault"] == name)
        assert window["injected_at"] and window["rolled_back_at"] and window["error"] is None, (window, output)
        share, count = share_answered(records, window, settle)
        assert count >= 3 and share >= 0.75, (name, share, count, output[-3000:])

    code, output, results, records = runs["fragile"]
    assert (code, results["verdict"]) == (1, "failed"), output
    assert "not met: slo 'available-during-fault'" in output
    for name, settle in [(n, SETTLE.get(n, 0.0)) for n in WINDOWS]:
        window = next(f for f in results["timeline"]["faults"] if f["fault"] == name)
        assert window["injected_at"] and window["rolled_back_at"] and window["error"] is None, (window, output)
        share, count = share_answered(records, window, settle)
        assert count >= 3 and share <= 0.25, (name, share, count, output[-3000:])
    # Every fault rolled back: A was restarted by its restart command, runs (not stopped) and answers.
    for gateway in (any_stack.resilient, any_stack.fragile):
        pid = wait_for(lambda g=gateway: g.restarted.exists() and g.a_pid(), 20)
        assert pid and pid != gateway.a.process.pid and pid_alive(pid)
        assert process_state(pid) != "T"
        assert httpx.get(f"{gateway.a.url}/health", timeout=5).status_code == 200
    log = (tmp_path / "fragile" / "out" / "faults" / "a-frozen-by-command.log").read_text()
    assert log.count("=== exit 0") == 3, log  # inject, check, rollback


def test_recover_after_sigkill_resumes_the_pause_runs_the_command_rollback_and_deletes_the_proxies(
        any_stack: AnyStack, tmp_path: Path):
    r = any_stack.r
    keeper = start_embedded_proxy(tmp_path / "toxiproxy")  # outlives the run, as a real Toxiproxy would
    try:
        listen = f"127.0.0.1:{free_port()}"
        document = experiment("any-stack-crash", r.url, [{"name": "region-r", "listen": listen, "upstream": f"127.0.0.1:{r.port}"}], [
            {"name": "r-paused", "kind": "process.pause", "select": {"port": r.port}, "schedule": {"start": "0s"}},
            {"name": "r-drained", "kind": "command", "schedule": {"start": "0s"},
             "inject": {"run": ["touch", "drained"]},
             "rollback": {"run": "rm drained && echo rolled-back >> rollbacks", "shell": True}},
        ], {"warmup": "500ms", "baseline": "2s", "fault": "30s", "recovery": "1s"})
        path = tmp_path / "crash.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        env = env_for(tmp_path, TOXIPROXY_URL=keeper.url)
        proc = popen_brownout(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"], env)
        try:
            applied = lambda: {e["id"] for e in journal_entries(tmp_path / "home") if e["type"] == "fault_applied"}  # noqa: E731
            assert wait_for(lambda: {"r-paused#0", "r-drained#0"} <= applied(), 60), journal_entries(tmp_path / "home")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            reap(tmp_path)
        # What the killed run left: r stopped, the command's fault in place, the declared proxy up.
        state = lambda: process_state(r.process.pid)  # noqa: E731
        assert state() == "T"
        assert (tmp_path / "drained").exists()
        with ToxiproxyAPI(keeper.url) as api:
            assert api.find_proxy("region-r").listen == listen

        done = run_brownout(["recover"], env, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        for fault in ("r-paused", "r-drained", "region-r"):
            assert f"fault '{fault}'" in done.stdout and "undone" in done.stdout, done.stdout
        assert wait_for(lambda: state() in ("S", "R"), 5), state()
        assert httpx.get(f"{r.url}/health", timeout=5).status_code == 200
        assert not (tmp_path / "drained").exists() and (tmp_path / "rollbacks").read_text() == "rolled-back\n"
        with ToxiproxyAPI(keeper.url) as api:
            assert api.proxies() == {}
    finally:
        os.kill(r.process.pid, signal.SIGCONT)
        keeper.stop()
