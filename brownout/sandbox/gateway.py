"""The AI gateway in front of the replicas: OpenAI-compatible API, routing, RAG.

`python -m brownout.sandbox.gateway --config JSON --port N --name gateway
--upstreams JSON --embedder URL`

Resilient profile: health-checked least-loaded routing (home region first),
retries on connect errors and 5xx *before the first byte reaches the client*
(a stream already partly sent is never replayed: a cut stays a cut), cross-region
failover, the fallback model when the primary is down or its queues are long,
keyword retrieval when embeddings time out. Fragile profile: blind round-robin
over the home region and every error passes straight through. Both keep a
session (the `x-session-id` header) on the replica of its previous turn; only
the resilient one moves it when that replica is gone (routing.py: Affinity).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.corpus import CORPUS
from brownout.sandbox.embedding import embed_text, keyword_search, vector_search
from brownout.sandbox.prom import Registry
from brownout.sandbox.ratelimit import TokenBucket
from brownout.sandbox.routing import SESSION_HEADER, Affinity, Upstream, fragile_pick, resilient_plan
from brownout.sandbox.server import parse_component_args, serve
from brownout.sandbox.text import count_tokens
from brownout.sandbox.wire import Kind, error_body, identity, models_body, prompt_text

__all__ = ["DEGRADED_HEADER", "build_app", "main"]

log = logging.getLogger("brownout.sandbox.gateway")

DEGRADED_HEADER = "x-brownout-degraded"
HEALTH_INTERVAL = 0.5
READY_GRACE = 5.0
MAX_PRIMARY_ATTEMPTS = 3
RESILIENT_EMBED_TIMEOUT = 1.0
FRAGILE_EMBED_TIMEOUT = 30.0
RAG_MAX_TOKENS = 48
_PATHS: dict[Kind, str] = {"chat": "/v1/chat/completions", "text": "/v1/completions"}
_LINK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


@dataclass
class Opened:
    """An upstream answer committed to: status 200 and its first bytes (or whole body) in hand."""

    upstream: Upstream
    response: aiohttp.ClientResponse
    first: bytes
    fallback: bool

    def close(self) -> None:
        self.response.release()
        self.upstream.in_flight -= 1


@dataclass
class Failure:
    """What to tell the client when no upstream answered.

    `link_error` marks failures with no HTTP answer at all (refused, reset,
    timed out): the resilient gateway takes that replica out of rotation.
    """

    status: int
    body: bytes
    upstream: Upstream | None = None
    link_error: bool = False

    @classmethod
    def of(cls, status: int, message: str, type_: str, upstream: Upstream | None = None) -> Failure:
        """A failure the gateway saw itself (no upstream answer), with an OpenAI-style error body."""
        return cls(status, json.dumps(error_body(message, type_, status)).encode(), upstream, link_error=True)


@dataclass
class GatewayState:
    config: SandboxConfig
    upstreams: list[Upstream]
    embedder_url: str
    index: list[tuple[dict[str, Any], list[float]]]
    bucket: TokenBucket | None
    registry: Registry = field(default_factory=Registry)
    session: aiohttp.ClientSession | None = None
    round_robin: int = 0
    ready: bool = False
    affinity: Affinity = field(default_factory=Affinity)

    @property
    def resilient(self) -> bool:
        return self.config.profile == "resilient"

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self.session is not None, "the session is opened in the app's cleanup context"
        return self.session


STATE = web.AppKey("state", GatewayState)


async def _open(state: GatewayState, up: Upstream, kind: Kind, payload: dict[str, Any], fallback: bool) -> Opened | Failure:
    """One attempt at one replica; releases everything unless it returns Opened."""
    up.in_flight += 1
    opened: Opened | None = None
    try:
        response = await state.http.post(up.url + _PATHS[kind], json=payload)
    except _LINK_ERRORS as exc:
        up.in_flight -= 1
        return Failure.of(502, f"upstream {up.name} unreachable: {exc!r}", "bad_gateway", up)
    try:
        if response.status != 200:
            return Failure(response.status, await response.read(), up)
        first = await response.content.readany() if payload.get("stream") else await response.read()
        if not first:
            return Failure.of(502, f"upstream {up.name} closed before the first byte", "bad_gateway", up)
        opened = Opened(up, response, first, fallback)
        return opened
    except _LINK_ERRORS as exc:
        return Failure.of(502, f"upstream {up.name} failed before the first byte: {exc!r}", "bad_gateway", up)
    finally:
        if opened is None:
            response.release()
            up.in_flight -= 1


async def _open_resilient(state: GatewayState, kind: Kind, payload: dict[str, Any], pinned: str | None) -> Opened | Failure:
    config = state.config
    reg = state.registry
    model = payload.get("model") or config.primary_model
    overload = config.max_running
    failure: Failure | None = None
    tried: set[str] = set()
    if model != config.fallback_model:
        for attempt in range(MAX_PRIMARY_ATTEMPTS):
            plan = resilient_plan(state.upstreams, model, config.home_region, overload, frozenset(tried), pinned)
            if not plan:
                break
            up = plan[0]
            tried.add(up.name)
            if attempt:
                reg.inc("sandbox_gateway_retries_total")
            result = await _open(state, up, kind, {**payload, "model": model}, fallback=False)
            if isinstance(result, Opened):
                if up.region != config.home_region:
                    reg.inc("sandbox_gateway_failovers_total")
                return result
            if result.link_error:
                up.healthy = False
            failure = result
            if result.status < 500:
                return result
        log.warning("primary %s unavailable (tried %s); falling back to %s", model, sorted(tried), config.fallback_model)
    fallback = model != config.fallback_model
    for up in resilient_plan(state.upstreams, config.fallback_model, config.home_region, overload)[:2]:
        result = await _open(state, up, kind, {**payload, "model": config.fallback_model}, fallback=fallback)
        if isinstance(result, Opened):
            if fallback:
                reg.inc("sandbox_gateway_fallbacks_total")
            return result
        if result.link_error:
            up.healthy = False
        failure = result
    return failure or Failure.of(503, f"no healthy replica serves {model}", "service_unavailable")


async def _open_llm(state: GatewayState, kind: Kind, payload: dict[str, Any], session: str | None = None) -> Opened | Failure:
    """Open an answer; a session's turn goes to its pinned replica first, and the session is pinned where it was served."""
    result = await _open_profile(state, kind, payload, state.affinity.get(session))
    if isinstance(result, Opened):
        state.affinity.pin(session, result.upstream.name)
    return result


async def _open_profile(state: GatewayState, kind: Kind, payload: dict[str, Any], pinned: str | None) -> Opened | Failure:
    if state.resilient:
        return await _open_resilient(state, kind, payload, pinned)
    model = payload.get("model") or state.config.primary_model
    up = fragile_pick(state.upstreams, model, state.config.home_region, state.round_robin, pinned)
    state.round_robin += 1
    if up is None:
        return Failure.of(404, f"The model `{model}` does not exist.", "NotFoundError")
    return await _open(state, up, kind, {**payload, "model": model}, fallback=False)


def _identity(up: Upstream | None, degraded: list[str]) -> dict[str, str]:
    headers = {"x-sandbox-replica": up.name, "x-sandbox-region": up.region} if up else {}
    if degraded:
        headers[DEGRADED_HEADER] = ",".join(degraded)
    return headers


def _throttle(state: GatewayState, tokens: int) -> web.Response | None:
    if state.bucket is None:
        return None
    wait = state.bucket.take(tokens, time.monotonic())
    if not wait:
        return None
    body = error_body("rate limit exceeded: too many tokens per second", "rate_limit_exceeded", 429)
    return web.json_response(body, status=429, headers={"Retry-After": str(int(wait))})


def _failure_response(failure: Failure) -> web.Response:
    return web.Response(
        status=failure.status, body=failure.body, content_type="application/json", headers=_identity(failure.upstream, [])
    )


async def _llm(request: web.Request, kind: Kind) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        payload = await request.json()
        prompt, _ = prompt_text(kind, payload)
        max_tokens = int(payload.get("max_tokens") or payload.get("max_completion_tokens") or 0)
    except (ValueError, TypeError, AttributeError) as exc:
        return web.json_response(error_body(str(exc), "invalid_request_error", 400), status=400)
    throttled = _throttle(state, count_tokens(prompt) + max_tokens)
    if throttled is not None:
        return throttled
    result = await _open_llm(state, kind, payload, request.headers.get(SESSION_HEADER))
    if isinstance(result, Failure):
        return _failure_response(result)
    headers = _identity(result.upstream, ["fallback-model"] if result.fallback else [])
    try:
        if not payload.get("stream"):
            return web.Response(body=result.first, content_type="application/json", headers=headers)
        out = web.StreamResponse(headers={**headers, "Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await out.prepare(request)
        await out.write(result.first)
        try:
            async for chunk in result.response.content.iter_any():
                await out.write(chunk)
        except _LINK_ERRORS as exc:
            log.warning("upstream %s cut the stream: %r; cutting the client's too", result.upstream.name, exc)
            state.registry.inc("sandbox_gateway_cut_streams_total")
            if request.transport is not None:
                request.transport.abort()
            return out
        await out.write_eof()
        return out
    finally:
        result.close()


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _llm(request, "chat")


async def completions(request: web.Request) -> web.StreamResponse:
    return await _llm(request, "text")


async def embeddings(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await request.read()
    try:
        async with state.http.post(
            state.embedder_url + "/v1/embeddings", data=body, headers={"Content-Type": "application/json"}
        ) as response:
            return web.Response(status=response.status, body=await response.read(), content_type="application/json")
    except _LINK_ERRORS as exc:
        return web.json_response(error_body(f"embedding service unreachable: {exc!r}", "bad_gateway", 502), status=502)


async def _embed(state: GatewayState, question: str) -> list[float]:
    timeout = aiohttp.ClientTimeout(total=RESILIENT_EMBED_TIMEOUT if state.resilient else FRAGILE_EMBED_TIMEOUT)
    async with state.http.post(
        state.embedder_url + "/v1/embeddings", json={"input": question}, timeout=timeout
    ) as response:
        if response.status != 200:
            raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
        return (await response.json())["data"][0]["embedding"]


async def rag(request: web.Request) -> web.Response:
    """Embed the question, search the corpus, ask the LLM with the sources."""
    state = request.app[STATE]
    try:
        body = await request.json()
        question = str(body["question"])
        top_k = max(1, min(int(body.get("top_k") or 3), len(CORPUS)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return web.json_response(error_body(f"invalid request: {exc!r}", "invalid_request_error", 400), status=400)
    degraded: list[str] = []
    try:
        hits = vector_search(await _embed(state, question), state.index, top_k)
        retrieval = "vector"
    except _LINK_ERRORS as exc:
        if not state.resilient:
            status = 504 if isinstance(exc, asyncio.TimeoutError) else 502
            return web.json_response(error_body(f"embedding failed: {exc!r}", "bad_gateway", status), status=status)
        log.warning("embedding failed (%r); using keyword retrieval", exc)
        state.registry.inc("sandbox_gateway_keyword_fallbacks_total")
        hits = keyword_search(question, CORPUS, top_k)
        retrieval = "keyword"
        degraded.append("keyword-retrieval")
    sources = "\n".join(f"[{doc['id']}] {doc['text']}" for doc, _ in hits)
    payload = {
        "model": body.get("model") or state.config.primary_model,
        "messages": [
            {"role": "system", "content": "Answer the question using these sources:\n" + sources},
            {"role": "user", "content": question},
        ],
        "max_tokens": RAG_MAX_TOKENS,
    }
    result = await _open_llm(state, "chat", payload)
    if isinstance(result, Failure):
        return _failure_response(result)
    try:
        completion = json.loads(result.first)
    finally:
        result.close()
    if result.fallback:
        degraded.append("fallback-model")
    answer = {
        "answer": completion["choices"][0]["message"]["content"],
        "sources": [{"id": doc["id"], "score": round(score, 4)} for doc, score in hits],
        "retrieval": retrieval,
        "model": completion["model"],
        "usage": completion.get("usage"),
    }
    return web.json_response(answer, headers=_identity(result.upstream, degraded))


async def models(request: web.Request) -> web.Response:
    config = request.app[STATE].config
    return web.json_response(models_body([config.primary_model, config.fallback_model]))


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    upstreams = [
        {"name": u.name, "region": u.region, "model": u.model, "healthy": u.healthy, "in_flight": u.in_flight}
        for u in state.upstreams
    ]
    status = "ok" if state.ready else "starting"
    return web.json_response(
        {"status": status, "profile": state.config.profile, "upstreams": upstreams}, status=200 if state.ready else 503,
        headers=identity(),
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(text=request.app[STATE].registry.render(), content_type="text/plain")


async def _count(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/v1/"):
        request.app[STATE].registry.inc("sandbox_gateway_requests_total", route=request.path, status=str(response.status))


async def _poll(state: GatewayState, up: Upstream) -> None:
    try:
        async with state.http.get(up.url + "/health", timeout=aiohttp.ClientTimeout(total=HEALTH_INTERVAL)) as response:
            info = await response.json()
            up.healthy = response.status == 200
            up.waiting = int(info.get("waiting", 0))
    except (*_LINK_ERRORS, ValueError):
        up.healthy = False


async def _health_loop(state: GatewayState) -> None:
    """Active health checks (resilient profile only: the fragile gateway routes blind).

    The gateway turns ready once it has seen every upstream healthy, so the
    first requests of a run do not land on the fallback model; or after a grace
    period, so a gateway restarted during a region outage still comes up.
    """
    grace_ends = time.monotonic() + READY_GRACE
    while True:
        await asyncio.gather(*(_poll(state, up) for up in state.upstreams))
        state.ready = state.ready or all(up.healthy for up in state.upstreams) or time.monotonic() > grace_ends
        await asyncio.sleep(HEALTH_INTERVAL)


async def set_embedder(request: web.Request) -> web.Response:
    """Re-point the embedding link (e.g. through a Toxiproxy proxy, where network faults act on it)."""
    state = request.app[STATE]
    body = await request.json()
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith("http"):
        raise web.HTTPBadRequest(text=json.dumps({"error": "url must be an http(s) URL"}), content_type="application/json")
    previous, state.embedder_url = state.embedder_url, url.rstrip("/")
    return web.json_response({"embedder_url": state.embedder_url, "previous": previous})


def build_app(config: SandboxConfig, upstreams: list[Upstream], embedder_url: str) -> web.Application:
    bucket = TokenBucket(config.rate_limit_tokens_per_s) if config.rate_limit_tokens_per_s else None
    index = [(doc, embed_text(doc["title"] + " " + doc["text"])) for doc in CORPUS]
    state = GatewayState(config=config, upstreams=upstreams, embedder_url=embedder_url, index=index, bucket=bucket)
    reg = state.registry
    reg.counter("sandbox_gateway_requests_total", "API requests answered, by route and HTTP status.")
    for name, text in (
        ("retries", "Attempts on another replica after a failure before the first byte."),
        ("failovers", "Requests served outside the home region."),
        ("fallbacks", "Requests served by the fallback model instead of the primary."),
        ("keyword_fallbacks", "RAG requests that used keyword retrieval because embedding failed."),
        ("cut_streams", "Client streams cut because the upstream stream broke."),
    ):
        reg.counter(f"sandbox_gateway_{name}_total", text)
    reg.gauge("sandbox_gateway_healthy_replicas", "Replicas passing health checks.", lambda: sum(u.healthy for u in upstreams))

    app = web.Application()
    app[STATE] = state
    app.on_response_prepare.append(_count)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/rag", rag)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/admin/embedder", set_embedder)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        timeout = aiohttp.ClientTimeout(total=None, connect=1.0, sock_read=30.0)
        state.session = aiohttp.ClientSession(timeout=timeout)
        state.ready = not state.resilient
        poller = asyncio.create_task(_health_loop(state)) if state.resilient else None
        yield
        if poller is not None:
            poller.cancel()
        await state.session.close()

    app.cleanup_ctx.append(lifecycle)
    return app


def _upstreams(text: str) -> list[Upstream]:
    return [Upstream(name=u["name"], region=u["region"], url=u["url"], model=u["model"]) for u in json.loads(text)]


def main(argv: list[str] | None = None) -> None:
    args = parse_component_args("brownout sandbox gateway", argv, upstreams=_upstreams, embedder=str)
    serve(build_app(args.config, args.upstreams, args.embedder), args.port, args.name)


if __name__ == "__main__":
    main()
