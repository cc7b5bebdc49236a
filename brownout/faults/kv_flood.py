"""KV-cache flood: bursts of near-context-limit requests from a load process of their own.

The flood is brownout's own load generator (`start_load` with a long-context
dataset and burst arrivals) aimed at the target for the fault window. The
handle holds the process id, the plan file that identifies it and its output
folder, so rollback works from another process (`brownout recover`): it stops
the process only if that pid still runs *this* plan. The process also ends by
itself after `max_duration` and dies with its parent.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from brownout.errors import InjectError, LoadError
from brownout.spec.faults.load import LoadKvCacheFlood
from brownout.spec.load import BurstArrival, Load, LongContextDataset
from brownout.spec.objectives import OutcomeRules
from brownout.faults.base import FaultDriver, FaultHandle, Resolution, ResolvedTarget
from brownout.loadgen import LoadPlan, start_load
from brownout.rundata.clock import RunClock
from brownout.loadgen.plan import STATUS_FILE
from brownout.loadgen.progress import read_progress
from brownout.processes import pid_alive, terminate

__all__ = ["KvCacheFloodDriver"]

_MODELS_TIMEOUT = 5.0


def _first_model(base_url: str) -> str:
    """The first model the target lists at /v1/models (OpenAI-compatible)."""
    url = base_url.rstrip("/") + "/v1/models"
    try:
        response = httpx.get(url, timeout=_MODELS_TIMEOUT)
        response.raise_for_status()
        return str(response.json()["data"][0]["id"])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise InjectError(f"cannot learn the model from {url} ({exc!r}); set the fault's `model`") from exc


def _is_ours(pid: int, plan_path: str) -> bool:
    """The pid is alive and is the load process started with this plan file (not a recycled pid)."""
    if not pid_alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"brownout.loadgen.process" in argv and plan_path.encode() in argv


class KvCacheFloodDriver(FaultDriver):
    kind = "load.kv-cache-flood"
    spec: LoadKvCacheFlood

    @property
    def target(self) -> str:
        if not self.context.target_url:
            raise InjectError(f"fault '{self.spec.name}' ({self.kind}) needs the target's base URL, and the run has none")
        return self.context.target_url

    def resolve(self) -> Resolution:
        s = self.spec
        prompt = int(s.fill * s.context_tokens) - s.output_tokens
        return Resolution(
            s.name, self.kind,
            f"flood {self.target} with bursts of {s.burst_size} requests of ~{prompt} prompt tokens "
            f"every {s.burst_every:g}s (at most {s.max_in_flight} in flight)",
            [ResolvedTarget("endpoint", self.target, {"context_tokens": s.context_tokens})],
            1,
        )

    def prepare(self) -> FaultHandle:
        out_dir = Path(tempfile.mkdtemp(prefix=f"brownout-kv-flood-{self.spec.name}-"))
        return FaultHandle(self.spec.name, self.kind, {
            "target_url": self.target, "out_dir": str(out_dir), "plan": str(out_dir / "plan.json"), "pid": None,
        })

    def plan(self, handle: FaultHandle, model: str) -> LoadPlan:
        """The flood's load plan: long-context prompts in bursts, starting now, bounded by max_duration."""
        s = self.spec
        load = Load(
            arrival=BurstArrival(kind="burst", size=s.burst_size, every=s.burst_every),
            dataset=LongContextDataset(kind="long_context", context_tokens=s.context_tokens, fill=s.fill,
                                       output_tokens=s.output_tokens),
            max_in_flight=s.max_in_flight, timeout=s.timeout, drain=1.0, seed=self.context.seed,
        )
        start = RunClock().now()
        out_dir = Path(handle.data["out_dir"])
        return LoadPlan(handle.data["target_url"], load, model, OutcomeRules(), start, start + s.max_duration,
                        out_dir, out_dir, api_key_env=self.context.api_key_env)

    def inject(self, handle: FaultHandle) -> dict[str, Any]:
        model = self.spec.model or self.context.model or _first_model(handle.data["target_url"])
        try:
            run = start_load(self.plan(handle, model))
        except LoadError as exc:
            raise InjectError(f"fault '{self.spec.name}': the flood's load process did not start: {exc}") from exc
        handle.data["pid"] = run.pid
        return {"pid": run.pid, "out_dir": handle.data["out_dir"], "model": model}

    @classmethod
    def rollback(cls, handle: FaultHandle) -> dict[str, Any]:
        pid = handle.data.get("pid")
        stopped = False
        if pid is not None and _is_ours(pid, handle.data["plan"]):
            terminate([pid], grace=5.0)
            stopped = True
        if pid is not None:
            try:
                os.waitpid(pid, os.WNOHANG)  # reap it when it is our child; elsewhere not ours to reap
            except ChildProcessError:
                pass
        progress = read_progress(Path(handle.data["out_dir"]) / STATUS_FILE)
        summary = {"sent": progress.sent, "ok": progress.ok, "failed": progress.failed} if progress else {}
        return {"stopped": stopped, "pid": pid, **summary, "at": time.time()}
