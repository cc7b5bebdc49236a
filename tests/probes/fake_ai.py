"""A small OpenAI-ish server for probe tests: chat, embeddings, RAG and health.

Runs aiohttp on 127.0.0.1 in its own thread and loop. Tests switch its behaviour
through `FakeAI.behaviour` (wrong answers, slow answers, error statuses).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
from dataclasses import dataclass, field

from aiohttp import web

from brownout.processes import free_port

__all__ = ["Behaviour", "FakeAI", "embed"]


def embed(text: str, dimension: int, salt: str = "") -> list[float]:
    """Hashed bag of words, normalised: texts with the same words get the same vector."""
    vector = [0.0] * dimension
    for word in text.lower().split():
        digest = hashlib.sha256((salt + word.strip(".,?!")).encode()).digest()
        vector[digest[0] % dimension] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0                      # seconds before any answer
    answer: str = "The capital of France is Paris."
    dimension: int = 16
    scrambled: bool = False                 # embeddings from another "model": unrelated vectors
    sources: list[str] = field(default_factory=lambda: ["doc-paris", "doc-lyon"])
    health_body: str = "ok"


class FakeAI:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.seen: list[tuple[str, dict[str, str]]] = []   # (path, headers) of every request
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-ai", daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> FakeAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)  # type: ignore[union-attr]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/rag", self._rag)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _common(self, request: web.Request) -> web.Response | None:
        self.seen.append((request.path, dict(request.headers)))
        if self.behaviour.delay:
            await asyncio.sleep(self.behaviour.delay)
        if self.behaviour.status != 200:
            return web.json_response({"error": {"message": "injected", "type": "server_error"}}, status=self.behaviour.status)
        return None

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        early = await self._common(request)
        if early is not None:
            return early
        message = {"role": "assistant", "content": self.behaviour.answer}
        return web.json_response(
            {"id": "c1", "object": "chat.completion", "model": body.get("model"),
             "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}}
        )

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        early = await self._common(request)
        if early is not None:
            return early
        salt = body["input"] if self.behaviour.scrambled else ""
        vector = embed(body["input"], self.behaviour.dimension, salt)
        return web.json_response({"object": "list", "model": body.get("model"), "data": [{"index": 0, "embedding": vector}]})

    async def _rag(self, request: web.Request) -> web.Response:
        await request.json()
        early = await self._common(request)
        if early is not None:
            return early
        sources = [{"id": s, "score": round(0.9 - 0.1 * i, 2)} for i, s in enumerate(self.behaviour.sources)]
        return web.json_response({"answer": self.behaviour.answer, "sources": sources, "retrieval": "vector"})

    async def _health(self, request: web.Request) -> web.Response:
        early = await self._common(request)
        if early is not None:
            return early
        return web.Response(text=self.behaviour.health_body)
