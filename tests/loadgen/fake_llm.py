"""A ground-truth OpenAI-style server for loadgen tests and bench (loopback only).

Run: `python tests/loadgen/fake_llm.py PORT [TRUTH.jsonl]`. Behaviour comes from
request headers, so one server serves every case:
  x-fake-mode     ok | reset | cut | nodone | stall | malformed | 429 | 500 | 404 | error_body | empty
                  | nousage | other_model | degraded_header | keyword
  x-fake-modes    comma-separated modes; request "w0-k" gets modes[k % len]
  x-fake-ttft-ms, x-fake-itl-ms   delays before the first token and between tokens
  x-fake-tokens   tokens to stream (default: max_tokens, else 8)
  x-fake-usage    0 to leave usage out of the last event
  x-fake-region   echoed as x-sandbox-region
GET /stats gives request count and the highest concurrency seen; GET /bodies the
last 1000 request bodies with their x-request-id. With a truth
file, every streamed request appends {id, ttft, itl, recv, first}: `recv` is
time.monotonic() when the handler started, `first` when the write of the first
token returned (the bytes are in the kernel's socket buffer). CLOCK_MONOTONIC
is system-wide, so a client on the same machine compares these marks with its
own directly; `ttft` is first - recv.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
import socket
import struct
import sys
import time

from aiohttp import web

MODEL = "fake-model"


class State:
    def __init__(self, truth_path: str | None) -> None:
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bodies: deque[dict] = deque(maxlen=1000)
        self.truth = open(truth_path, "a", encoding="utf-8") if truth_path else None


def _event(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _reset(request: web.Request) -> None:
    sock = request.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    request.transport.abort()


async def handle(request: web.Request) -> web.StreamResponse:
    state: State = request.app["state"]
    state.count += 1
    state.in_flight += 1
    state.max_in_flight = max(state.max_in_flight, state.in_flight)
    try:
        return await _answer(request, state)
    finally:
        state.in_flight -= 1


async def _answer(request: web.Request, state: State) -> web.StreamResponse:
    t0 = time.monotonic()
    body = await request.json()
    h = request.headers
    state.bodies.append({"id": h.get("x-request-id"), "body": body})
    mode = h.get("x-fake-mode", "ok")
    if "x-fake-modes" in h:  # one mode per request: request k of "w0-k" gets modes[k % len]
        modes = h["x-fake-modes"].split(",")
        mode = modes[int(h.get("x-request-id", "w0-0").rsplit("-", 1)[-1]) % len(modes)]
    ttft = float(h.get("x-fake-ttft-ms", 0)) / 1000
    itl = float(h.get("x-fake-itl-ms", 0)) / 1000
    tokens = int(h.get("x-fake-tokens", body.get("max_tokens") or 8))
    usage = h.get("x-fake-usage", "1") != "0" and mode != "nousage"
    model = "backup-model" if mode == "other_model" else body.get("model", MODEL)
    headers = {"x-sandbox-region": h.get("x-fake-region", "region-a")}
    if mode == "degraded_header":
        headers["x-brownout-degraded"] = "1"
    if mode in ("429", "500", "404"):
        return web.json_response({"error": {"message": "nope"}}, status=int(mode), headers=headers)
    if mode == "stall":
        await asyncio.sleep(30)
    kind = "chat" if request.path.endswith("/chat/completions") else request.path.rsplit("/", 1)[-1]
    if kind == "embeddings":
        return web.json_response({"model": model, "data": [{"embedding": [0.1, 0.2]}], "usage": {"prompt_tokens": 5}}, headers=headers)
    if kind == "rag":
        retrieval = "keyword" if mode == "keyword" else "vector"
        return web.json_response({"answer": "" if mode == "empty" else "an answer", "sources": [], "retrieval": retrieval}, headers=headers)
    if not body.get("stream"):
        await asyncio.sleep(ttft)
        if mode == "error_body":
            return web.json_response({"error": {"message": "model overloaded"}}, headers=headers)
        text = "" if mode == "empty" else "tok " * tokens
        choice = {"text": text} if kind == "completions" else {"message": {"role": "assistant", "content": text}}
        out = {"model": model, "choices": [choice]}
        if usage:
            out["usage"] = {"prompt_tokens": 3, "completion_tokens": 0 if mode == "empty" else tokens}
        return web.json_response(out, headers=headers)
    resp = web.StreamResponse(headers={**headers, "content-type": "text/event-stream"})
    await resp.prepare(request)
    if kind != "completions":
        await resp.write(_event({"model": model, "choices": [{"delta": {"role": "assistant"}}]}))
    if mode == "error_body":
        await resp.write(_event({"error": {"message": "model overloaded"}}))
        await resp.write(b"data: [DONE]\n\n")
        return resp
    if mode == "malformed":
        await resp.write(b"data: {not json\n\n")
        return resp
    sent: list[float] = []
    for i in range(0 if mode == "empty" else tokens):
        due = (t0 + ttft) if i == 0 else (sent[-1] + itl)
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        choice = {"text": f"t{i} "} if kind == "completions" else {"delta": {"content": f"t{i} "}}
        await resp.write(_event({"model": model, "choices": [choice]}))
        sent.append(time.monotonic())
        if i == 1 and mode in ("reset", "cut"):
            if mode == "reset":
                _reset(request)
            else:
                request.transport.close()
            return resp
    if usage:
        await resp.write(_event({"model": model, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 0 if mode == "empty" else tokens}}))
    if mode != "nodone":
        await resp.write(b"data: [DONE]\n\n")
    if state.truth is not None and sent:
        gaps = [b - a for a, b in itertools.pairwise(sent)]
        truth = {"id": h.get("x-request-id"), "ttft": sent[0] - t0, "itl": gaps, "recv": t0, "first": sent[0]}
        state.truth.write(json.dumps(truth) + "\n")
        state.truth.flush()
    return resp


async def stats(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    return web.json_response({"count": state.count, "max_in_flight": state.max_in_flight, "in_flight": state.in_flight})


async def bodies(request: web.Request) -> web.Response:
    return web.json_response(list(request.app["state"].bodies))


def make_app(truth_path: str | None = None) -> web.Application:
    app = web.Application()
    app["state"] = State(truth_path)
    app.router.add_post("/v1/{kind}", handle)
    app.router.add_post("/v1/chat/completions", handle)
    app.router.add_get("/stats", stats)
    app.router.add_get("/bodies", bodies)
    return app


if __name__ == "__main__":
    from brownout.processes import die_with_parent

    die_with_parent()
    web.run_app(make_app(sys.argv[2] if len(sys.argv) > 2 else None), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
