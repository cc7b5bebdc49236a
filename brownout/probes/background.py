"""An asyncio loop on a daemon thread: how probes and samplers run beside the runner's phases.

httpx must not run in the load generator's gevent process, and the runner's main
thread is busy holding phases and rolling faults back; so each of these owns a loop
on its own thread, started and stopped through this one small class.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from brownout.errors import ProbeError

__all__ = ["BackgroundLoop", "Main"]

T = TypeVar("T")
Main = Callable[[asyncio.Event, Callable[[], None]], Awaitable[None]]
"""`main(stopping, ready)`: call `ready()` once running, return soon after `stopping` is set."""


class BackgroundLoop:
    def __init__(self, name: str, start_timeout: float = 10.0) -> None:
        self.name = name
        self.start_timeout = start_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, main: Main) -> None:
        """Run `main` on a new thread; returns once it called `ready()`. ProbeError if it fails or hangs."""
        if self._thread is not None:
            raise ProbeError(f"{self.name} already started")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(main, ready), name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(self.start_timeout) or self._failure is not None:
            self.stop()
            raise ProbeError(f"{self.name} failed to start: {self._failure or 'timed out'}")

    def stop(self, timeout: float = 10.0) -> None:
        """Set `stopping`, join the thread. Idempotent; ProbeError when the thread will not end."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is not None and loop is not None and stopping is not None and thread.is_alive():
            loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise ProbeError(f"{self.name} thread did not stop within {timeout:g}s")
        self._thread = None

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Run a coroutine on the loop from another thread."""
        if self._loop is None or not self.running:
            coroutine.close()
            raise ProbeError(f"{self.name} is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _thread_main(self, main: Main, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run(main, ready))
        except Exception as exc:  # noqa: BLE001 - surfaced by start(); the thread must not die silently
            self._failure = exc
            ready.set()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _run(self, main: Main, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        await main(self._stopping, ready.set)
