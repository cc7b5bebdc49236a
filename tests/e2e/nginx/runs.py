"""`brownout run` against the nginx stack, with what the stack itself saw of each run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from brownout.rundata.records import load_records
from tests.e2e.conftest import processes_with_marker, run_brownout, wait_for
from tests.e2e.nginx.stack import Nginx, Stack

__all__ = ["Run", "Runner", "stats_delta"]


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What an upstream served between two /stats readings."""
    out = {key: after[key] - before[key] for key in ("received", "completed", "aborted")}
    for key in ("queue_wait", "ttft", "completed_ids"):
        out[key] = after[key][len(before[key]):]
    return out


@dataclass
class Run:
    """One `brownout run` and what the stack saw of it."""

    proc: subprocess.CompletedProcess
    results: dict[str, Any]
    records: pd.DataFrame
    served: dict[str, dict[str, Any]]      # upstream name -> stats_delta over the run
    proxies_after: dict[str, Any]          # the Toxiproxy proxies once the run had ended
    access: list[dict[str, Any]] = field(default_factory=list)   # nginx access-log lines written during the run

    @property
    def verdict(self) -> str:
        return self.results["verdict"]

    def slo(self, name: str) -> dict[str, Any]:
        return next(s for s in self.results["slos"] if s["name"] == name)

    def phase(self, name: str) -> dict[str, Any]:
        return self.results["phases"][name]

    def fault(self, name: str) -> dict[str, Any]:
        return next(f for f in self.results["timeline"]["faults"] if f["fault"] == name)

    def explain(self) -> str:
        """What to print when an assertion fails: the verdict, the SLOs, the failovers, the tail of the output."""
        slos = [(s["name"], s["status"], s["actual"], s["message"]) for s in self.results["slos"]]
        return (f"verdict={self.verdict} exit={self.proc.returncode} slos={slos} failovers={self.results['failovers']}\n"
                f"{self.proc.stdout[-2000:]}{self.proc.stderr[-3000:]}")


class Runner:
    """Runs experiments against the stack, one after the other, each in its own directory."""

    def __init__(self, stack: Stack, workdir: Path) -> None:
        self.stack = stack
        self.workdir = workdir
        self.count = 0

    def env(self, marker: str) -> dict[str, str]:
        env = dict(os.environ)
        env["BROWNOUT_HOME"] = str(self.workdir / "home")
        env["BROWNOUT_TEST_MARKER"] = marker
        env["TOXIPROXY_URL"] = self.stack.toxiproxy.url
        env.pop("GITHUB_STEP_SUMMARY", None)
        return env

    def run(self, key: str, document: dict[str, Any], gateway: Nginx) -> Run:
        """Run `document` (an experiment whose target is `gateway`) and collect what the stack saw."""
        self.stack.toxiproxy.reset()
        self.count += 1
        workdir = self.workdir / f"{self.count}-{key}"
        workdir.mkdir(parents=True)
        path = workdir / f"{key}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        before, log_before = self.stack.stats(), len(gateway.access_log())
        marker = str(workdir)
        try:
            proc = run_brownout(["run", str(path), "--out", str(workdir / "out"), "--quiet"], self.env(marker), timeout=150)
        finally:
            wait_for(lambda: not processes_with_marker(marker), 10)
            for pid in processes_with_marker(marker):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        after = self.stack.stats()
        results_path = workdir / "out" / "results.json"
        assert results_path.exists(), f"no results.json (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        results = json.loads(results_path.read_text())
        return Run(
            proc=proc,
            results=results,
            records=load_records(results_path.parent / p for p in results["records_paths"]),  # relative to the run folder
            served={name: stats_delta(before[name], after[name]) for name in before},
            proxies_after=self.stack.toxiproxy.proxies(),
            access=gateway.access_log()[log_before:],
        )
