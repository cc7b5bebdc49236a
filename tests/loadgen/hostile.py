"""A hostile OpenAI-style server for the load's robustness tests (loopback only).

Run: `python tests/loadgen/hostile.py PORT [CERT.pem KEY.pem]` (with a certificate it speaks HTTPS).
Each misbehaviour a real server showed is one mode, chosen per request by the
`x-hostile-modes` header (comma-separated; request "w0-k" gets modes[k % len]):
  ok            5 tokens, usage, [DONE]
  huge          one content event of `x-hostile-mib` MiB, dribbled over `x-hostile-seconds`
                (request k: seconds[k % len] of the comma-separated list), then usage and [DONE]
  reset_mid     3 tokens, then a TCP reset
  stall_mid     3 tokens, then silence (30 s)
  hang_done     5 tokens, [DONE], then the response never ends (30 s)
  after_done    5 tokens, [DONE], then more content events and the end
  usage_huge    5 tokens and a usage of 1,000,000 completion tokens
  usage_zero    5 tokens and a usage of 0 completion tokens
  redirect      307 to /v1/chat/completions?hop=1, which answers like `ok`
  redirect_loop 307 to itself, forever
  gzip          the `ok` stream gzip-encoded, each event flushed on its own (timing kept)
  deflate       the same with zlib-wrapped deflate (RFC 9110's deflate)
  raw_deflate   the same with raw deflate, as some servers send for `deflate`
  brotli        Content-Encoding: br (not decodable incrementally)
POST /api/ask is a RAG API of another shape (`{"query": ...}` in, `{"data": {"text": ...}}` out),
keeping each body it got under its request id in the truth. GET /health answers 200, GET /moved redirects (307) to it; GET /truth gives, per request id, the monotonic time its
handler started and when it wrote its last byte (`end`), as the server saw them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import struct
import sys
import time
import zlib

from aiohttp import web

MODEL = "fake-model"


def _event(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _token(i: int) -> bytes:
    return _event({"model": MODEL, "choices": [{"delta": {"content": f"t{i} "}}]})


def _usage(tokens: int) -> bytes:
    return _event({"model": MODEL, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": tokens}})


def _mode(request: web.Request) -> tuple[str, int]:
    k = int(request.headers.get("x-request-id", "w0-0").rsplit("-", 1)[-1].split(".")[0])
    modes = request.headers.get("x-hostile-modes", "ok").split(",")
    return modes[k % len(modes)], k


async def handle(request: web.Request) -> web.StreamResponse:
    truth = request.app["truth"]
    rid = request.headers.get("x-request-id", "?")
    t0 = time.monotonic()
    await request.read()
    mode, k = _mode(request)
    if request.query.get("hop"):
        mode = "ok"
    if mode == "redirect":
        raise web.HTTPTemporaryRedirect("/v1/chat/completions?hop=1")
    if mode == "redirect_loop":
        raise web.HTTPTemporaryRedirect("/v1/chat/completions")
    headers = {"content-type": "text/event-stream"}
    encoder = None
    if mode in ("gzip", "deflate", "raw_deflate"):
        headers["content-encoding"] = "gzip" if mode == "gzip" else "deflate"
        encoder = zlib.compressobj(wbits={"gzip": 31, "deflate": 15, "raw_deflate": -15}[mode])
    elif mode == "brotli":
        headers["content-encoding"] = "br"
    resp = web.StreamResponse(headers=headers)
    await resp.prepare(request)

    async def write(data: bytes) -> None:
        if encoder is not None:
            data = encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH)
        await resp.write(data)

    try:
        if mode == "huge":
            await _huge(request, k, write)
        else:
            for i in range(5 if mode not in ("reset_mid", "stall_mid") else 3):
                await write(_token(i))
                await asyncio.sleep(0.01)
            if mode == "reset_mid":
                sock = request.transport.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                request.transport.abort()
                return resp
            if mode == "stall_mid":
                await asyncio.sleep(30)
            claimed = {"usage_huge": 1_000_000, "usage_zero": 0}.get(mode, 5)
            await write(_usage(claimed) + b"data: [DONE]\n\n")
            if mode == "hang_done":
                await asyncio.sleep(30)
            if mode == "after_done":
                await write(_token(5) + _token(6))
        if encoder is not None:
            await resp.write(encoder.flush())
        await resp.write_eof()
    finally:
        truth[rid] = {"start": t0, "end": time.monotonic(), "mode": mode}
    return resp


async def _huge(request: web.Request, k: int, write) -> None:
    """One content event of x-hostile-mib MiB, written in 64 KiB pieces spread over the request's seconds."""
    size = int(float(request.headers.get("x-hostile-mib", "10")) * 2**20)
    spans = [float(s) for s in request.headers.get("x-hostile-seconds", "0").split(",")]
    seconds = spans[k % len(spans)]
    text = b"x" * size
    event = b'data: {"model": "' + MODEL.encode() + b'", "choices": [{"delta": {"content": "' + text + b'"}}]}\n\n'
    piece = 64 * 1024
    pieces = range(0, len(event), piece)
    start = time.monotonic()
    for n, at in enumerate(pieces):
        await write(event[at : at + piece])
        due = start + seconds * (n + 1) / len(pieces)
        await asyncio.sleep(max(0.0, due - time.monotonic()))
    await write(_usage(1) + b"data: [DONE]\n\n")


async def ask(request: web.Request) -> web.Response:
    body = await request.json()
    request.app["truth"]["ask " + request.headers.get("x-request-id", "?")] = {"body": body}
    query = body.get("query")
    return web.json_response({"data": {"text": f"an answer to {query}" if isinstance(query, str) and query else ""}})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def moved(request: web.Request) -> web.Response:
    raise web.HTTPTemporaryRedirect("/health")


async def truth(request: web.Request) -> web.Response:
    return web.json_response(request.app["truth"])


def make_app() -> web.Application:
    app = web.Application()
    app["truth"] = {}
    app.router.add_post("/v1/chat/completions", handle)
    app.router.add_post("/api/ask", ask)
    app.router.add_get("/health", health)
    app.router.add_get("/moved", moved)
    app.router.add_get("/truth", truth)
    return app


if __name__ == "__main__":
    from brownout.processes import die_with_parent

    die_with_parent()
    context = None
    if len(sys.argv) > 3:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), ssl_context=context, print=None, access_log=None,
                shutdown_timeout=0.2)  # handlers asleep for 30 s must not hold the exit
