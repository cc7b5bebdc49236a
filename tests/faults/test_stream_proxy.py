"""The stream fault proxy as a client sees it: real proxy process, real upstream, loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web

from brownout.faults.stream import StreamProxy, StreamRule, delete_rule, list_rules, put_rule, start_stream_proxy
from brownout.faults.stream.sse import EventSplitter, is_content_event, is_done_event

TOKENS = 8
ITL = 0.02


class Upstream:
    """A deterministic OpenAI-compatible server: TOKENS content events ITL apart, then usage and [DONE].

    Runs its own event loop in a thread; `calls` counts requests that reached it.
    `max_tokens` and `itl_ms` in the request body override the defaults.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, headers={"X-Upstream": "health"})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        body = await request.json()
        tokens, itl = body.get("max_tokens", TOKENS), body.get("itl_ms", ITL * 1000) / 1000
        if not body.get("stream"):
            text = "".join(f"tok{i} " for i in range(tokens))
            return web.json_response(
                {"id": "cmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]},
                headers={"X-Upstream": "chat"},
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Upstream": "stream"})
        await response.prepare(request)

        def chunk(delta: dict) -> bytes:
            data = {"id": "cmpl-1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
            return b"data: " + json.dumps(data).encode() + b"\n\n"

        await response.write(chunk({"role": "assistant"}))
        for i in range(tokens):
            await asyncio.sleep(itl)
            await response.write(chunk({"content": f"tok{i} "}))
        await response.write(b'data: {"id":"cmpl-1","choices":[],"usage":{"completion_tokens":%d}}\n\n' % tokens)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


@dataclass
class Seen:
    """One response as a client observed it."""

    status: int
    headers: httpx.Headers
    raw: bytes = b""
    token_times: list[float] = field(default_factory=list)  # seconds after send
    done: bool = False
    error_event: bool = False

    @property
    def tokens(self) -> int:
        return len(self.token_times)

    @property
    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.token_times, self.token_times[1:])]


def chat(client: httpx.Client, base: str, stream: bool = True, **extra) -> Seen:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": stream, **extra}
    sent = time.monotonic()
    with client.stream("POST", f"{base}/v1/chat/completions", json=body) as response:
        seen = Seen(status=response.status_code, headers=response.headers)
        splitter = EventSplitter()
        for piece in response.iter_raw():
            now = time.monotonic() - sent
            seen.raw += piece
            for event in splitter.feed(piece):
                if is_content_event(event):
                    seen.token_times.append(now)
                seen.done |= is_done_event(event)
                seen.error_event |= event.startswith(b'data: {"error"')
    return seen


@pytest.fixture(scope="module")
def upstream():
    server = Upstream()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def proxy(upstream, tmp_path_factory):
    started = start_stream_proxy(upstream.url, tmp_path_factory.mktemp("stream-proxy"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def client():
    with httpx.Client(timeout=10.0) as c:
        yield c


@pytest.fixture
def rules(proxy: StreamProxy):
    """Put rules through the real control API; every rule is deleted after the test."""
    ids: list[str] = []

    def put(rule_id: str, **fields) -> None:
        ids.append(rule_id)
        put_rule(proxy.control_url, rule_id, StreamRule(ttl=fields.pop("ttl", 60.0), **fields))

    yield put
    for rule_id in ids:
        delete_rule(proxy.control_url, rule_id)


def counters(proxy: StreamProxy, rule_id: str) -> tuple[int, int]:
    state = next(s for s in list_rules(proxy.control_url) if s["id"] == rule_id)
    return state["seen"], state["affected"]


def test_without_rules_responses_are_byte_identical(upstream, proxy, client):
    for stream in (True, False):
        direct, proxied = chat(client, upstream.url, stream), chat(client, proxy.url, stream)
        assert proxied.status == direct.status == 200
        assert proxied.raw == direct.raw and len(direct.raw) > 100
        strip = lambda h: sorted((k, v) for k, v in h.multi_items() if k != "date")  # noqa: E731
        assert strip(proxied.headers) == strip(direct.headers)
    assert direct.headers["x-upstream"] == "chat"
    missing = client.get(f"{proxy.url}/v1/nowhere?x=1")
    assert missing.status_code == 404 and missing.text == client.get(f"{upstream.url}/v1/nowhere?x=1").text


def test_without_rules_tokens_are_relayed_as_they_come(proxy, client):
    """No buffering: tokens arrive spread out as the upstream produced them, not in one lump."""
    seen = chat(client, proxy.url, itl_ms=40)
    assert seen.tokens == TOKENS and seen.done
    assert seen.token_times[-1] - seen.token_times[0] > 0.6 * 40e-3 * (TOKENS - 1)
    assert statistics.median(seen.gaps) > 0.02


def test_cut_with_share_one_cuts_every_stream_after_n_tokens(proxy, client, rules):
    rules("cut-all", mode="cut", share=1.0, after_tokens=3)
    results = [chat(client, proxy.url) for _ in range(10)]
    assert all(r.status == 200 and r.tokens == 3 and not r.done for r in results)
    assert counters(proxy, "cut-all") == (10, 10)


def test_cut_with_share_half_cuts_about_half(proxy, client, rules):
    rules("cut-half", mode="cut", share=0.5, after_tokens=2, seed=7)
    results = [chat(client, proxy.url, itl_ms=2) for _ in range(40)]
    cut = [r for r in results if not r.done]
    assert 10 <= len(cut) <= 30  # binomial(40, 0.5): +/- 3 standard deviations
    assert all(r.tokens == 2 for r in cut)
    assert all(r.tokens == TOKENS for r in results if r.done)
    assert counters(proxy, "cut-half") == (40, len(cut))


def test_stall_pauses_mid_stream_then_completes(proxy, client, rules):
    rules("stall", mode="stall", share=1.0, after_tokens=2, stall=0.5)
    seen = chat(client, proxy.url)
    assert seen.tokens == TOKENS and seen.done
    assert seen.gaps[1] >= 0.45                     # between token 2 and token 3
    assert max(seen.gaps[:1] + seen.gaps[2:]) < 0.3
    assert counters(proxy, "stall") == (1, 1)


def test_slow_widens_inter_token_gaps(proxy, client, rules):
    base = statistics.median(chat(client, proxy.url).gaps)
    rules("slow", mode="slow", share=1.0, slowdown=4.0)
    by_factor = statistics.median(chat(client, proxy.url).gaps)
    rules("slow", mode="slow", share=1.0, extra_delay=0.1)
    by_delay = chat(client, proxy.url)
    assert by_factor >= 2.5 * base and by_factor >= 0.06
    assert min(by_delay.gaps) >= 0.1 and by_delay.done and by_delay.tokens == TOKENS


def test_throttle_answers_429_without_calling_upstream(upstream, proxy, client, rules):
    rules("throttle", mode="throttle", share=1.0, retry_after=1.5)
    before = upstream.calls
    seen = chat(client, proxy.url)
    assert seen.status == 429 and seen.headers["retry-after"] == "2"
    assert json.loads(seen.raw)["error"]["code"] == "rate_limit_exceeded"
    assert upstream.calls == before
    health = client.get(f"{proxy.url}/health")   # not a completions path: passes through
    assert health.status_code == 200 and health.headers["x-upstream"] == "health"


def test_unavailable_comes_in_bursts(proxy, client, rules):
    rules("burst", mode="unavailable", share=1.0, burst=0.5, pause=0.5)
    start = time.monotonic()
    statuses: list[tuple[float, int]] = []
    while (elapsed := time.monotonic() - start) < 1.9:
        statuses.append((elapsed, chat(client, proxy.url, stream=False).status))
        time.sleep(0.03)
    in_burst = [s for t, s in statuses if 0.05 < t % 1.0 < 0.42]
    in_pause = [s for t, s in statuses if 0.58 < t % 1.0 < 0.92]
    assert in_burst and set(in_burst) == {503}
    assert in_pause and set(in_pause) == {200}


def test_unavailable_without_burst_is_always_503(proxy, client, rules):
    rules("down", mode="unavailable", share=1.0)
    seen = chat(client, proxy.url)
    assert seen.status == 503 and json.loads(seen.raw)["error"]["code"] == 503


def test_error_body_answers_200_with_error_object(upstream, proxy, client, rules):
    rules("err", mode="error_body", share=1.0)
    before = upstream.calls
    plain, streamed = chat(client, proxy.url, stream=False), chat(client, proxy.url)
    assert plain.status == 200 and "error" in json.loads(plain.raw)
    assert streamed.status == 200 and streamed.error_event and streamed.tokens == 0
    assert upstream.calls == before
    rules("err", mode="error_body", share=1.0, after_tokens=2)
    mid = chat(client, proxy.url)
    assert mid.tokens == 2 and mid.error_event and mid.done


def test_expired_rules_stop_applying(proxy, client, rules):
    rules("short", mode="cut", share=1.0, after_tokens=1, ttl=0.6)
    assert chat(client, proxy.url).tokens == 1
    time.sleep(0.8)
    seen = chat(client, proxy.url)
    assert seen.tokens == TOKENS and seen.done
    state = next(s for s in list_rules(proxy.control_url) if s["id"] == "short")
    assert state["active"] is False and (state["seen"], state["affected"]) == (1, 1)


def test_control_api_rejects_bad_rules(proxy):
    bad = httpx.put(f"{proxy.control_url}/faults/x", json={"mode": "explode", "ttl": 5})
    assert bad.status_code == 400 and "mode" in bad.text
    no_ttl = httpx.put(f"{proxy.control_url}/faults/x", json={"mode": "cut"})
    assert no_ttl.status_code == 400 and "ttl" in no_ttl.text
    assert httpx.delete(f"{proxy.control_url}/faults/never-put").status_code == 404
    assert delete_rule(proxy.control_url, "never-put") is None
