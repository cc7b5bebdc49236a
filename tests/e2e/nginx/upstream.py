"""A small OpenAI-compatible LLM server standing behind nginx in the nginx e2e tests (loopback only).

Run: `python tests/e2e/nginx/upstream.py --port 0 --ready-file F --model M --region R
--capacity N --ttft-ms X --itl-ms Y`. It writes `{"port": P, "pid": PID}` to F once it listens.

- `POST /v1/chat/completions`: streaming SSE in OpenAI's chunk format (a role chunk, one
  chunk per token, a final usage chunk when `stream_options.include_usage`, `data: [DONE]`)
  or one JSON body; every chunk carries `model` and `system_fingerprint` = `fp-<region>`;
  every response has the header `x-upstream-region: <region>`. It streams `max_tokens`
  tokens (8 when absent, at most 256). With the header `x-hold-after-first: 1` it stops after
  the first token until `POST /release/<x-request-id>` (at most 30 s).
- Capacity: at most `--capacity` requests generate at once; the others wait their turn
  (FIFO), so time to first token grows with concurrency beyond capacity, as on a real
  serving engine with a full batch.
- `GET /health`; `GET /stats`: what it served, the truth tests compare a run against:
  `received` (chat requests that reached it), `completed` (answers written to the end),
  `aborted` (the client went away mid-answer), `max_generating`, `max_waiting` (most
  requests queued for a slot at once), and per request `queue_wait` (seconds it waited for a
  slot; 0 when one was free), `ttft` (seconds from receipt to the write of the first token
  returning, that wait included) and `completed_ids` (the X-Request-Id of each completed
  answer, which brownout sends and nginx passes on).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

from aiohttp import web

_STATE = web.AppKey("state", dict)
_SETTINGS = web.AppKey("settings", argparse.Namespace)
_SLOTS = web.AppKey("slots", asyncio.Semaphore)
_HELD = web.AppKey("held", dict)


def _event(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _chunk(settings: argparse.Namespace, rid: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": settings.model,
        "system_fingerprint": f"fp-{settings.region}",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def chat(request: web.Request) -> web.StreamResponse:
    settings, state, slots = request.app[_SETTINGS], request.app[_STATE], request.app[_SLOTS]
    t_recv = time.monotonic()
    body = await request.json()
    state["received"] += 1
    tokens = max(1, min(int(body.get("max_tokens") or 8), 256))
    rid = f"chatcmpl-{settings.region}-{state['received']}"
    headers = {"x-upstream-region": settings.region}
    queue_wait = 0.0
    if slots.locked():  # every slot busy: wait for one, first come first served
        state["waiting"] += 1
        state["max_waiting"] = max(state["max_waiting"], state["waiting"])
        t_queued = time.monotonic()
        try:
            await slots.acquire()
        finally:
            state["waiting"] -= 1
        queue_wait = time.monotonic() - t_queued
    else:
        await slots.acquire()
    state["generating"] += 1
    state["max_generating"] = max(state["max_generating"], state["generating"])
    try:
        await asyncio.sleep(settings.ttft_ms / 1000)
        if not body.get("stream"):
            await asyncio.sleep(settings.itl_ms / 1000 * (tokens - 1))
            text = "".join(f"t{i} " for i in range(tokens))
            state["queue_wait"].append(queue_wait)
            state["ttft"].append(time.monotonic() - t_recv)
            state["completed"] += 1
            state["completed_ids"].append(request.headers.get("x-request-id"))
            return web.json_response({
                "id": rid, "object": "chat.completion", "created": int(time.time()), "model": settings.model,
                "system_fingerprint": f"fp-{settings.region}",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 8, "completion_tokens": tokens, "total_tokens": 8 + tokens},
            }, headers=headers)
        resp = web.StreamResponse(headers={**headers, "content-type": "text/event-stream", "cache-control": "no-cache"})
        await resp.prepare(request)
        try:
            await resp.write(_event(_chunk(settings, rid, {"role": "assistant", "content": ""})))
            due = time.monotonic()
            for i in range(tokens):
                if i:
                    due += settings.itl_ms / 1000
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                await resp.write(_event(_chunk(settings, rid, {"content": f"t{i} "},
                                               "length" if i == tokens - 1 else None)))
                if i == 0:
                    state["queue_wait"].append(queue_wait)
                    state["ttft"].append(time.monotonic() - t_recv)
                    if request.headers.get("x-hold-after-first"):
                        await _hold(request)
                    due = time.monotonic()
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {"prompt_tokens": 8, "completion_tokens": tokens, "total_tokens": 8 + tokens}
                await resp.write(_event({**_chunk(settings, rid, {}), "choices": [], "usage": usage}))
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            state["aborted"] += 1
            raise
        state["completed"] += 1
        state["completed_ids"].append(request.headers.get("x-request-id"))
        return resp
    finally:
        state["generating"] -= 1
        slots.release()


async def _hold(request: web.Request) -> None:
    """Wait (up to 30 s) for POST /release/<x-request-id>, with the first token written: whatever the
    client receives before the release went through nginx unbuffered."""
    held = request.app[_HELD]
    key = request.headers.get("x-request-id", "")
    held[key] = asyncio.Event()
    try:
        await asyncio.wait_for(held[key].wait(), 30)
    except TimeoutError:
        pass
    finally:
        del held[key]


async def release(request: web.Request) -> web.Response:
    event = request.app[_HELD].get(request.match_info["request_id"])
    if event is None:
        return web.json_response({"released": False}, status=404)
    event.set()
    return web.json_response({"released": True})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "region": request.app[_SETTINGS].region},
                             headers={"x-upstream-region": request.app[_SETTINGS].region})


async def stats(request: web.Request) -> web.Response:
    settings, state = request.app[_SETTINGS], request.app[_STATE]
    return web.json_response({"model": settings.model, "region": settings.region, "capacity": settings.capacity,
                              "held": sorted(request.app[_HELD]), **state})


def make_app(settings: argparse.Namespace) -> web.Application:
    app = web.Application()
    app[_SETTINGS] = settings
    app[_HELD] = {}
    app[_STATE] = {"received": 0, "completed": 0, "aborted": 0, "waiting": 0, "generating": 0,
                   "max_waiting": 0, "max_generating": 0, "queue_wait": [], "ttft": [], "completed_ids": []}
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", stats)
    app.router.add_post("/release/{request_id}", release)
    return app


async def serve(settings: argparse.Namespace) -> None:
    app = make_app(settings)
    app[_SLOTS] = asyncio.Semaphore(settings.capacity)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    if settings.ready_file:
        tmp = settings.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": port, "pid": os.getpid()}))
        tmp.rename(settings.ready_file)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--capacity", type=int, default=8)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    settings = parser.parse_args()
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
