"""The data plane: forward every request to the upstream, and break the ones a rule picks.

Untouched requests are relayed chunk by chunk as they arrive (no buffering, no
re-encoding, compressed bodies stay compressed). A picked request either never
reaches the upstream (throttle, unavailable, immediate error_body) or has its
SSE stream relayed event by event so the fault lands between tokens.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from brownout.faults.stream.bodies import error_event, error_json, wants_stream
from brownout.faults.stream.degrade import degrade_body, degrade_event, stop_event
from brownout.faults.stream.rules import RuleState, RuleTable
from brownout.faults.stream.sse import EventSplitter, event_data, is_content_event, is_done_event

__all__ = ["Forwarder"]

_HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade",
    )
)
_STREAM_MODES = frozenset({"cut", "stall", "slow", "error_body"})
_END = None


def _copy_headers(headers, drop: frozenset[str] = frozenset()) -> CIMultiDict[str]:
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() not in drop)


def _canned(status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, headers={"Content-Type": content_type, **(extra or {})})


class Forwarder:
    """aiohttp handler for every path of the data port."""

    def __init__(self, upstream: str, table: RuleTable, session: aiohttp.ClientSession) -> None:
        self.upstream = upstream.rstrip("/")
        self.table = table
        self.session = session

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        state = self.table.choose(request.path, time.monotonic())
        if state is not None:
            early = self._answer_without_upstream(state, body)
            if early is not None:
                state.affected += 1
                return early
        url = URL(self.upstream + str(request.rel_url), encoded=True)
        degrading = state is not None and state.rule.mode == "degrade"
        # A rewritten answer must be readable: ask the upstream for an uncompressed one.
        drop = frozenset({"host", "content-length", "accept-encoding"} if degrading else {"host", "content-length"})
        try:
            upstream = await self.session.request(
                request.method, url, data=body or None, allow_redirects=False, headers=_copy_headers(request.headers, drop),
            )
        except (aiohttp.ClientError, OSError) as exc:
            return _canned(502, error_json(f"stream proxy: upstream unreachable: {exc}", "bad_gateway", 502), "application/json")
        try:
            sse = upstream.status == 200 and upstream.content_type == "text/event-stream"
            if state is not None and state.rule.mode in _STREAM_MODES and sse:
                return await self._relay_faulted(request, upstream, state)
            if degrading and upstream.status == 200:
                return await self._relay_degraded(request, upstream, state, sse)
            return await self._relay(request, upstream)
        finally:
            upstream.release()

    def _answer_without_upstream(self, state: RuleState, body: bytes) -> web.Response | None:
        rule = state.rule
        if rule.mode == "throttle":
            headers = {"Retry-After": rule.retry_after_header, "retry-after-ms": str(round(rule.retry_after * 1000))}
            text = error_json("Rate limit reached (injected by brownout)", "rate_limit_exceeded", "rate_limit_exceeded")
            return _canned(429, text, "application/json", headers)
        if rule.mode == "unavailable" and rule.in_burst(time.monotonic() - state.started):
            text = error_json("Service unavailable (injected by brownout)", "service_unavailable", 503)
            return _canned(503, text, "application/json")
        if rule.mode == "error_body" and rule.after_tokens == 0:
            message, type_ = "The server had an error while processing your request (injected by brownout)", "server_error"
            if wants_stream(body):
                return _canned(200, error_event(message, type_, 500), "text/event-stream")
            return _canned(200, error_json(message, type_, 500), "application/json")
        return None

    async def _relay(self, request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=_copy_headers(upstream.headers))
        await response.prepare(request)
        try:
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client left (it timed out, or was cancelled): nothing to tell it
        return response

    async def _relay_degraded(
        self, request: web.Request, upstream: aiohttp.ClientResponse, state: RuleState, sse: bool
    ) -> web.StreamResponse:
        """Status 200 and a well-formed answer, with its content rewritten (`faults.stream.degrade`)."""
        rule = state.rule
        if not sse:
            raw = await upstream.read()
            rewritten = degrade_body(raw, rule.degrade or "", rule.after_tokens, rule.model)
            state.affected += rewritten is not None
            headers = _copy_headers(upstream.headers, frozenset({"content-length", "content-encoding"}))
            return web.Response(status=200, body=raw if rewritten is None else rewritten, headers=headers)
        state.affected += 1
        response = web.StreamResponse(status=200, headers=_copy_headers(upstream.headers, frozenset({"content-length"})))
        await response.prepare(request)
        splitter, tokens = EventSplitter(), 0
        try:
            async for chunk in upstream.content.iter_any():
                for event in splitter.feed(chunk):
                    content = is_content_event(event)
                    if content and rule.degrade == "truncate" and tokens >= rule.after_tokens:
                        await response.write(stop_event(event_data(event)) + b"data: [DONE]\n\n")
                        await response.write_eof()
                        return response
                    rewrite = rule.degrade != "truncate" and (content or rule.degrade == "other_model")
                    changed = degrade_event(event_data(event), rule.degrade or "", tokens, rule.model) if rewrite else None
                    await response.write(event if changed is None else changed)
                    tokens += content
            await response.write(splitter.rest())
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client left
        return response

    async def _relay_faulted(
        self, request: web.Request, upstream: aiohttp.ClientResponse, state: RuleState
    ) -> web.StreamResponse:
        """Relay event by event; a reader task timestamps upstream arrivals so 'slow' widens real gaps."""
        rule = state.rule
        response = web.StreamResponse(
            status=upstream.status, reason=upstream.reason,
            headers=_copy_headers(upstream.headers, frozenset({"content-length"})),
        )
        if rule.mode == "cut":
            response.force_close()
        events: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        reader = asyncio.create_task(_read_events(upstream, events))
        await response.prepare(request)
        tokens = 0
        acted = False
        last_arrival = last_delivery = 0.0
        try:
            while (item := await events.get()) is not _END:
                arrival, event = item
                content = is_content_event(event)
                due = (content or is_done_event(event)) and tokens >= rule.after_tokens and not acted
                if due and rule.mode == "cut":
                    state.affected += 1
                    break
                if due and rule.mode == "error_body":
                    state.affected += 1
                    await response.write(error_event("The server had an error while generating (injected by brownout)", "server_error", 500))
                    break
                if due and rule.mode == "stall":
                    acted = True
                    state.affected += 1
                    await asyncio.sleep(rule.stall)
                if content and rule.mode == "slow" and tokens > 0:
                    gap = (arrival - last_arrival) * rule.slowdown + rule.extra_delay
                    if not acted:
                        acted = True
                        state.affected += 1
                    await asyncio.sleep(max(0.0, last_delivery + gap - time.monotonic()))
                await response.write(event)
                if content:
                    tokens += 1
                    last_arrival, last_delivery = arrival, time.monotonic()
            if reader.done() and not reader.cancelled() and reader.exception() is not None:
                raise reader.exception()  # the upstream broke: drop the client's connection as it would
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client left, typically timed out during a stall
        finally:
            reader.cancel()
        return response


async def _read_events(upstream: aiohttp.ClientResponse, events: asyncio.Queue) -> None:
    """Split the upstream body into events as they arrive, stamping each with its arrival time."""
    splitter = EventSplitter()
    try:
        async for chunk in upstream.content.iter_any():
            now = time.monotonic()
            for event in splitter.feed(chunk):
                events.put_nowait((now, event))
        if splitter.rest():
            events.put_nowait((time.monotonic(), splitter.rest()))
    finally:
        events.put_nowait(_END)
