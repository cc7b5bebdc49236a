"""What each toxic does to one chunk of one stream, as Toxiproxy's toxics/*.go do.

A handler gets the chunk, its arrival time and `emit` (the rest of the chain).
It may delay, split, truncate or drop the chunk, or end the connection by
raising `CloseLink` / `ResetLink`. Sleeps go through `pipe.sleep_until`, which
returns early when the toxic is removed or updated: the data then flows on
undelayed, as Toxiproxy's interrupted toxics do ("don't drop data on the floor").

`timeout` and `slow_close` act on the stream as a whole, not per chunk; the
pipe's loop applies them (see link.py).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from brownout.faults.network.embedded.model import Toxic

__all__ = ["HANDLERS", "CloseLink", "Pipe", "ResetLink", "ToxicState", "slice_offsets"]


class Pipe(Protocol):
    """What a handler may use of the pipe it runs in (`link.Pipe`): the link knows the handlers, not the reverse."""

    rng: random.Random

    def now(self) -> float: ...

    def is_current(self, toxic: Toxic) -> bool: ...

    async def sleep_until(self, deadline: float, toxic: Toxic) -> None: ...


@dataclass
class ToxicState:
    """Per-connection state of one toxic."""

    active: bool          # drawn against toxicity
    since: float          # when it started on this pipe (timeout toxic's timer)
    sent: int = 0         # limit_data
    next_free: float = 0.0  # bandwidth pacing


Emit = Callable[[bytes], Awaitable[None]]
Handler = Callable[[Pipe, Toxic, ToxicState, bytes, float, Emit], Awaitable[None]]


class CloseLink(Exception):
    """The toxic ends the connection with a normal close."""


class ResetLink(Exception):
    """The toxic ends the connection with a TCP RST (SO_LINGER 0)."""


async def _latency(pipe: Pipe, toxic: Toxic, state: ToxicState, data: bytes, ts: float, emit: Emit) -> None:
    delay_ms = toxic.attributes["latency"]
    jitter = toxic.attributes["jitter"]
    if jitter > 0:
        delay_ms += pipe.rng.randrange(-jitter, jitter)
    await pipe.sleep_until(ts + delay_ms / 1000, toxic)
    await emit(data)


async def _bandwidth(pipe: Pipe, toxic: Toxic, state: ToxicState, data: bytes, ts: float, emit: Emit) -> None:
    rate = toxic.attributes["rate"]  # KB/s, 1 KB = 1000 bytes, as Toxiproxy
    if rate <= 0:
        await emit(data)
        return
    step = rate * 100  # Toxiproxy sends large chunks in 100 ms slices
    for start in range(0, len(data), step):
        piece = data[start:start + step]
        state.next_free = max(state.next_free, pipe.now()) + len(piece) / (rate * 1000)
        await pipe.sleep_until(state.next_free, toxic)
        await emit(piece)


def slice_offsets(size: int, average: int, variation: int, rng: random.Random) -> list[tuple[int, int]]:
    """Split [0, size) around its middle until pieces are within average +/- variation (Toxiproxy's chunk())."""
    average = max(average, 1)
    out: list[tuple[int, int]] = []
    todo = [(0, size)]
    while todo:
        start, end = todo.pop()
        if (end - start) - average <= variation or end - start <= 1:
            out.append((start, end))
            continue
        offset = rng.randrange(variation * 2) - variation if variation > 0 else 0
        mid = min(max(start + (end - start) // 2 + offset, start + 1), end - 1)
        todo.append((mid, end))
        todo.append((start, mid))
    return out


async def _slicer(pipe: Pipe, toxic: Toxic, state: ToxicState, data: bytes, ts: float, emit: Emit) -> None:
    attrs = toxic.attributes
    delay = attrs["delay"] / 1_000_000  # microseconds
    for start, end in slice_offsets(len(data), attrs["average_size"], attrs["size_variation"], pipe.rng):
        await emit(data[start:end])
        if delay > 0:
            await pipe.sleep_until(pipe.now() + delay, toxic)


async def _limit_data(pipe: Pipe, toxic: Toxic, state: ToxicState, data: bytes, ts: float, emit: Emit) -> None:
    limit = toxic.attributes["bytes"]
    piece = data[:max(0, limit - state.sent)]
    if piece:
        state.sent += len(piece)
        await emit(piece)
    if state.sent >= limit:
        raise CloseLink()


async def _reset_peer(pipe: Pipe, toxic: Toxic, state: ToxicState, data: bytes, ts: float, emit: Emit) -> None:
    await pipe.sleep_until(pipe.now() + toxic.attributes["timeout"] / 1000, toxic)
    if pipe.is_current(toxic):
        raise ResetLink()
    await emit(data)


async def _pass(pipe: Pipe, toxic: Toxic, state: ToxicState, data: bytes, ts: float, emit: Emit) -> None:
    await emit(data)


HANDLERS: dict[str, Handler] = {
    "latency": _latency,
    "bandwidth": _bandwidth,
    "slicer": _slicer,
    "limit_data": _limit_data,
    "reset_peer": _reset_peer,
    "slow_close": _pass,
    "timeout": _pass,
}
