"""Runs every probe on its own interval in a background thread with its own asyncio loop.

The runner process drives Locust's master and must stay responsive, and httpx is
slow and fragile under gevent (DEVELOPERS.md), so probes get a plain thread and a
plain event loop. A probe never overlaps itself: when its previous run is still
going at a tick, the tick is skipped and nothing is recorded for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from brownout.http_options import MAX_REDIRECTS

from brownout.errors import ProbeError
from brownout.spec.probes import Probe
from brownout.probes.background import BackgroundLoop
from brownout.probes.base import ProbeCheck
from brownout.probes.registry import build_check
from brownout.rundata.probes import ProbeResult
from brownout.probes.sink import JsonlSink
from brownout.probes.target import ProbeTarget

__all__ = ["ProbeRunner"]

_START_TIMEOUT = 10.0


class ProbeRunner:
    """`start()`, then read `results()` while the run goes on; `stop()` at the end.

    Results are kept in arrival order (a caller that wants only new ones keeps
    `len(results())` as its cursor) and appended to `out_path` as JSON lines.
    """

    def __init__(self, probes: Sequence[Probe], target: ProbeTarget, out_path: Path | None = None) -> None:
        self.target = target
        self.out_path = Path(out_path) if out_path is not None else None
        self._checks: dict[str, ProbeCheck] = {p.name: build_check(p) for p in probes}
        self._results: list[ProbeResult] = []
        self._sink = JsonlSink(self.out_path)
        self._background = BackgroundLoop("brownout-probes", _START_TIMEOUT)
        self._client: httpx.AsyncClient | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._sink.open()
        self._background.start(self._main)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel every probe (in-flight runs included), close the client and join the thread."""
        self._background.stop(timeout)
        self._sink.close()

    @property
    def running(self) -> bool:
        return self._background.running

    # -- results ---------------------------------------------------------------------

    def results(self) -> list[ProbeResult]:
        with self._sink.lock:
            return list(self._results)

    def results_since(self, t: float) -> list[ProbeResult]:
        """Results of runs that started at or after run-clock time `t`."""
        with self._sink.lock:
            return [r for r in self._results if r.t >= t]

    def run_once(self, name: str) -> ProbeResult:
        """Run one probe now and wait for it (steady-state checks). Recorded like any run;
        call `stop()` at the end even when the runner was never started (it closes the file).

        Raises ProbeError for an unknown name or a misconfigured probe.
        """
        check = self._checks.get(name)
        if check is None:
            raise ProbeError(f"unknown probe '{name}'; defined: {', '.join(sorted(self._checks)) or 'none'}")
        client = self._client
        if self.running and client is not None:
            future = self._background.submit(self._run_and_record(check, client, raise_errors=True))
            return future.result(check.timeout + _START_TIMEOUT)
        self._sink.open()
        return asyncio.run(self._once(check))

    # -- internals -------------------------------------------------------------------

    def _record(self, result: ProbeResult) -> None:
        with self._sink.lock:
            self._results.append(result)
            self._sink.write([result.to_dict()])

    def _new_client(self) -> httpx.AsyncClient:
        # trust_env=False: an HTTP_PROXY in the environment must not reroute probes.
        http = self.target.http
        return httpx.AsyncClient(verify=http.ssl_context(), trust_env=False, follow_redirects=http.follow_redirects,
                                 max_redirects=MAX_REDIRECTS)

    async def _once(self, check: ProbeCheck) -> ProbeResult:
        async with self._new_client() as client:
            return await self._run_and_record(check, client, raise_errors=True)

    async def _run_and_record(self, check: ProbeCheck, client: httpx.AsyncClient, raise_errors: bool) -> ProbeResult:
        try:
            result = await check.run(client, self.target)
        except ProbeError as exc:
            if raise_errors:
                raise
            result = ProbeResult(check.name, check.kind, self.target.clock.now(), False, None, f"probe error: {exc}")
        self._record(result)
        return result

    async def _main(self, stopping: asyncio.Event, ready: Callable[[], None]) -> None:
        async with self._new_client() as client:
            self._client = client
            tasks = [asyncio.create_task(self._every(check, client)) for check in self._checks.values()]
            ready()
            try:
                await stopping.wait()
            finally:
                self._client = None
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _every(self, check: ProbeCheck, client: httpx.AsyncClient) -> None:
        """Start a run at each tick of the probe's interval unless the last one is still going."""
        loop = asyncio.get_running_loop()
        interval = check.spec.interval  # type: ignore[attr-defined]
        first = loop.time()
        tick = 0
        current: asyncio.Task | None = None
        try:
            while True:
                if current is None or current.done():
                    current = asyncio.create_task(self._run_and_record(check, client, raise_errors=False))
                # The next tick in the future: never the same one twice (timers may fire a
                # hair early), and ticks missed while the loop was busy are skipped.
                tick = max(tick + 1, int((loop.time() - first) // interval) + 1)
                await asyncio.sleep(first + tick * interval - loop.time())
        finally:
            if current is not None and not current.done():
                current.cancel()
                await asyncio.gather(current, return_exceptions=True)
