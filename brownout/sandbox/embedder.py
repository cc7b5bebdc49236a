"""The embedding service: OpenAI-compatible `POST /v1/embeddings` with realistic latency.

`python -m brownout.sandbox.embedder --config JSON --port N --name embedder [--latency S --jitter S]`

Service time is tokens * embedding_per_token; `POST /admin/latency` adds a fixed
delay with +/- jitter on top (the slow-embeddings fault).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

from aiohttp import web

from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.embedding import embed_text
from brownout.sandbox.prom import Registry
from brownout.sandbox.server import parse_component_args, serve
from brownout.sandbox.text import count_tokens
from brownout.sandbox.wire import error_body, identity

__all__ = ["build_app", "main"]

log = logging.getLogger("brownout.sandbox.embedder")
EMBEDDING_MODEL = "sandbox-embed"


@dataclass
class EmbedderState:
    config: SandboxConfig
    latency: float
    jitter: float
    rng: random.Random
    registry: Registry = field(default_factory=Registry)
    in_flight: int = 0

    def added_delay(self) -> float:
        if self.latency <= 0:
            return 0.0
        return max(0.0, self.latency + self.rng.uniform(-self.jitter, self.jitter))


STATE = web.AppKey("state", EmbedderState)


async def embeddings(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        body = await request.json()
        raw = body["input"]
        inputs = [raw] if isinstance(raw, str) else [str(x) for x in raw]
        if not inputs:
            raise ValueError("'input' must not be empty")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        state.registry.inc("sandbox_requests_total", status="400")
        return web.json_response(error_body(f"invalid input: {exc}", "invalid_request_error", 400), status=400)
    tokens = sum(max(1, count_tokens(text)) for text in inputs)
    state.in_flight += 1
    try:
        await asyncio.sleep(tokens * state.config.embedding_per_token + state.added_delay())
    finally:
        state.in_flight -= 1
    data = [{"object": "embedding", "index": i, "embedding": embed_text(text)} for i, text in enumerate(inputs)]
    state.registry.inc("sandbox_requests_total", status="200")
    state.registry.inc("sandbox_embedding_tokens_total", tokens)
    return web.json_response(
        {
            "object": "list",
            "data": data,
            "model": body.get("model") or EMBEDDING_MODEL,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def admin_latency(request: web.Request) -> web.Response:
    """Set the added latency and jitter in seconds (0 restores)."""
    state = request.app[STATE]
    body = await request.json()
    previous = {"latency": state.latency, "jitter": state.jitter}
    state.latency = float(body.get("latency") or 0.0)
    state.jitter = float(body.get("jitter") or 0.0)
    log.info("added latency %s -> %.3fs +/- %.3fs", previous, state.latency, state.jitter)
    return web.json_response({"latency": state.latency, "jitter": state.jitter, "previous": previous})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "in_flight": request.app[STATE].in_flight}, headers=identity())


async def metrics(request: web.Request) -> web.Response:
    return web.Response(text=request.app[STATE].registry.render(), content_type="text/plain")


def build_app(config: SandboxConfig, latency: float = 0.0, jitter: float = 0.0) -> web.Application:
    state = EmbedderState(config=config, latency=latency, jitter=jitter, rng=random.Random(config.seed))
    state.registry.counter("sandbox_requests_total", "Embedding requests answered, by HTTP status.")
    state.registry.counter("sandbox_embedding_tokens_total", "Tokens embedded.")
    state.registry.gauge("sandbox_embedding_in_flight", "Requests being embedded.", lambda: state.in_flight)
    state.registry.gauge("sandbox_embedding_added_latency_seconds", "Latency added by the fault.", lambda: state.latency)
    app = web.Application()
    app[STATE] = state
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/admin/latency", admin_latency)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    return app


def main(argv: list[str] | None = None) -> None:
    args = parse_component_args("brownout sandbox embedding service", argv, latency=float, jitter=float)
    serve(build_app(args.config, args.latency or 0.0, args.jitter or 0.0), args.port, args.name)


if __name__ == "__main__":
    main()
