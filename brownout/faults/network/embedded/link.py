"""One proxied TCP connection: two pipes (upstream, downstream), each running its stream's toxics.

Each pipe has a reader task that stamps chunks with their arrival time, and a
loop that passes them through the toxics active *now*, so a toxic added or
removed mid-connection takes effect on live connections, as in Toxiproxy.
Delays are deadlines from arrival, so a steady stream keeps its spacing under
a latency toxic instead of piling the delays up.

Whether a toxic applies to a connection is drawn once per (connection, toxic)
against its toxicity, as Toxiproxy does per link.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections import deque
from collections.abc import Callable

from brownout.faults.network.embedded.model import Toxic
from brownout.faults.network.embedded.toxics import (
    HANDLERS,
    CloseLink,
    ResetLink,
    ToxicState,
)

__all__ = ["Link", "Pipe"]

READ_SIZE = 256 * 1024
BUFFER_LIMIT = 1024 * 1024  # bytes read ahead per pipe before the reader waits


class Pipe:
    """One direction of a connection."""

    def __init__(self, link: Link, stream: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.link = link
        self.stream = stream
        self.rng = link.rng
        self._reader = reader
        self.writer = writer
        self._loop = asyncio.get_running_loop()
        self._buffer: deque[tuple[bytes, float]] = deque()
        self._buffered = 0
        self._eof = False
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._states: dict[Toxic, ToxicState] = {}

    def now(self) -> float:
        return self._loop.time()

    def notify(self) -> None:
        self._wake.set()

    def is_current(self, toxic: Toxic) -> bool:
        return any(t is toxic for t in self.link.chain(self.stream))

    def _active(self) -> list[tuple[Toxic, ToxicState]]:
        out = []
        for toxic in self.link.chain(self.stream):
            state = self._states.get(toxic)
            if state is None:
                state = self._states[toxic] = ToxicState(self.rng.random() < toxic.toxicity, self.now())
            if state.active:
                out.append((toxic, state))
        return out

    async def _wait(self, deadline: float | None) -> None:
        """Until new data, EOF, a toxic change, or the deadline (loop time)."""
        self._wake.clear()
        if deadline is None:
            await self._wake.wait()
            return
        try:
            async with asyncio.timeout_at(deadline):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def sleep_until(self, deadline: float, toxic: Toxic) -> None:
        """Sleep while `toxic` is still in place; return early once it is removed or updated."""
        while self.now() < deadline and self.is_current(toxic):
            await self._wait(deadline)

    async def read_loop(self) -> None:
        try:
            while True:
                if self._buffered >= BUFFER_LIMIT:
                    self._room.clear()
                    await self._room.wait()
                    continue
                data = await self._reader.read(READ_SIZE)
                if not data:
                    break
                self._buffer.append((data, self.now()))
                self._buffered += len(data)
                self._wake.set()
        except (ConnectionError, OSError):
            pass
        self._eof = True
        self._wake.set()

    def _take(self) -> tuple[bytes, float]:
        data, ts = self._buffer.popleft()
        self._buffered -= len(data)
        if self._buffered < BUFFER_LIMIT:
            self._room.set()
        return data, ts

    async def _write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def _through(self, chain: list[tuple[Toxic, ToxicState]], data: bytes, ts: float) -> None:
        if not chain:
            await self._write(data)
            return
        (toxic, state), rest = chain[0], chain[1:]

        async def emit(piece: bytes) -> None:
            await self._through(rest, piece, ts)

        await HANDLERS[toxic.type](self, toxic, state, data, ts, emit)

    async def run(self) -> None:
        try:
            await self._loop_chunks()
        except ResetLink:
            self.link.close(reset=self.writer)
        except (CloseLink, ConnectionError, OSError):
            self.link.close()

    async def _loop_chunks(self) -> None:
        while True:
            chain = self._active()
            timeout = next(((t, s) for t, s in chain if t.type == "timeout"), None)
            if timeout is not None:
                await self._hold(*timeout)
            elif self._buffer:
                data, ts = self._take()
                await self._through(chain, data, ts)
            elif self._eof:
                slow = next((t for t, _ in chain if t.type == "slow_close"), None)
                if slow is not None:
                    await self.sleep_until(self.now() + slow.attributes["delay"] / 1000, slow)
                raise CloseLink()
            else:
                await self._wait(None)

    async def _hold(self, toxic: Toxic, state: ToxicState) -> None:
        """Timeout toxic: drop data; close after `timeout` ms without data (never when 0)."""
        while self._buffer:
            self._take()
            state.since = self.now()
        if self._eof:
            raise CloseLink()
        ms = toxic.attributes["timeout"]
        deadline = state.since + ms / 1000 if ms > 0 else None
        if deadline is not None and self.now() >= deadline:
            raise CloseLink()
        await self._wait(deadline)


class Link:
    """A client connection and its upstream connection, joined by two pipes."""

    def __init__(
        self,
        chain: Callable[[str], list[Toxic]],
        rng: random.Random,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        on_close: Callable[[Link], None],
    ) -> None:
        self.chain = chain
        self.rng = rng
        self._on_close = on_close
        self._writers = (client[1], upstream[1])
        self._pipes = (
            Pipe(self, "upstream", client[0], upstream[1]),
            Pipe(self, "downstream", upstream[0], client[1]),
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    def start(self) -> None:
        for pipe in self._pipes:
            self._tasks.append(asyncio.create_task(pipe.read_loop()))
            self._tasks.append(asyncio.create_task(pipe.run()))

    def notify(self) -> None:
        """The proxy's toxics changed: let every pipe look again."""
        for pipe in self._pipes:
            pipe.notify()

    def close(self, reset: asyncio.StreamWriter | None = None) -> None:
        """Close both sides (idempotent); `reset` is sent a TCP RST instead of a FIN."""
        if self._closed:
            return
        self._closed = True
        for writer in self._writers:
            if writer is reset:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            else:
                writer.close()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._on_close(self)
