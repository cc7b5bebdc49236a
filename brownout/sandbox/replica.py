"""An LLM replica: OpenAI-compatible serving with continuous batching and simulated GPU memory.

`python -m brownout.sandbox.replica --config JSON --port N --name llm-us-east-0 --region us-east
--model sandbox-large [--cold-start S] [--gpu-memory BYTES]`

It listens at once but answers 503 on /health and /v1/* until its cold start
(model load) is over, like a vLLM pod before readiness.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field

from aiohttp import web

from brownout.sandbox.batching import BatchScheduler, Sequence
from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.degrade import Answer, Degradation
from brownout.sandbox.gpu import GpuModel, oom_message
from brownout.sandbox.prom import Registry
from brownout.sandbox.server import parse_component_args, serve
from brownout.sandbox.text import count_tokens, generate_words, natural_length
from brownout.sandbox.tools import call_body, call_chunk, next_call
from brownout.sandbox.wire import (
    SSE_DONE,
    Kind,
    completion_body,
    content_chunk,
    error_body,
    identity,
    final_chunk,
    models_body,
    prompt_text,
    sse,
    usage_chunk,
)

__all__ = ["ModelProfile", "build_app", "main", "model_profile"]

log = logging.getLogger("brownout.sandbox.replica")
OOM_EXIT_CODE = 3


@dataclass(frozen=True)
class ModelProfile:
    """How one simulated model behaves: speed, answer lengths, weight size."""

    name: str
    decode_step: float
    prefill_per_token: float
    min_answer: int
    max_answer: int
    weights_share: float


def model_profile(config: SandboxConfig, model: str) -> ModelProfile:
    """The primary model, or the fallback: twice as fast, shorter answers, smaller weights."""
    if model == config.fallback_model:
        return ModelProfile(model, config.decode_step / 2, config.prefill_per_token / 2, 8, 32, 0.15)
    return ModelProfile(model, config.decode_step, config.prefill_per_token, 16, 96, 0.5)


@dataclass
class ReplicaState:
    name: str
    region: str
    config: SandboxConfig
    profile: ModelProfile
    gpu: GpuModel
    gpu_available: int
    scheduler: BatchScheduler
    ready_at: float
    registry: Registry = field(default_factory=Registry)
    served: int = 0
    degradation: Degradation | None = None   # a bad rollout (sandbox.bad-rollout), set through /admin/degrade

    @property
    def ready(self) -> bool:
        return time.monotonic() >= self.ready_at


STATE = web.AppKey("state", ReplicaState)


def _json_error(status: int, message: str, type_: str) -> web.Response:
    return web.json_response(error_body(message, type_, status), status=status)


async def _generate(request: web.Request, kind: Kind) -> web.StreamResponse:
    state = request.app[STATE]
    if not state.ready:
        return _json_error(503, "model is loading", "service_unavailable")
    try:
        body = await request.json()
        prompt, question = prompt_text(kind, body)
        call = next_call(body, question, state.config.seed) if kind == "chat" else None
        max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or state.profile.max_answer)
        if max_tokens < 1:
            raise ValueError("'max_tokens' must be at least 1")
    except (ValueError, TypeError, AttributeError) as exc:
        return _json_error(400, str(exc), "invalid_request_error")
    if body.get("model") not in (None, state.profile.name):
        return _json_error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")

    prompt_tokens = max(1, count_tokens(prompt))
    kv_tokens = prompt_tokens + max_tokens
    if kv_tokens > state.config.kv_cache_tokens:
        return _json_error(
            400,
            f"This model's maximum context length is {state.config.kv_cache_tokens} tokens. "
            f"However, you requested {kv_tokens} tokens.",
            "invalid_request_error",
        )
    scheduler = state.scheduler
    # Queued requests hold no memory: at most the whole KV budget is ever allocated,
    # which fits the configured memory, so OOM needs a shrunk GPU (the fault).
    if state.gpu.needed(min(scheduler.kv_used + kv_tokens, state.config.kv_cache_tokens)) > state.gpu_available:
        message = oom_message(state.gpu, scheduler.kv_used, kv_tokens, state.gpu_available)
        log.error("%s", message)
        if state.config.oom_behaviour == "crash":
            log.error("exiting with status %d after CUDA OOM", OOM_EXIT_CODE)
            logging.shutdown()
            os._exit(OOM_EXIT_CODE)
        return _json_error(500, message, "server_error")

    natural = natural_length(prompt, state.config.seed, state.profile.min_answer, state.profile.max_answer)
    output = max_tokens if body.get("ignore_eos") else min(max_tokens, natural)
    finish_reason = "length" if output == max_tokens else "stop"
    words = generate_words(question, prompt, state.config.seed, output)
    model = state.profile.name
    if call is not None:  # the answer is a tool call: its argument pieces are the generated tokens
        words = call.pieces(max_tokens)
        output, finish_reason = len(words), "tool_calls"
    elif state.degradation is not None:  # a bad rollout: still 200 and well formed, but the answer is wrong
        answer = state.degradation.apply(Answer(words, finish_reason, model), prompt, state.config.seed)
        words, finish_reason, model, output = answer.words, answer.finish_reason, answer.model, len(answer.words)
    state.served += 1
    request_id = f"cmpl-{state.name}-{state.served}"
    seq = Sequence(prompt_tokens=prompt_tokens, output_tokens=output, kv_tokens=kv_tokens)
    scheduler.submit(seq)
    state.registry.inc("sandbox_prompt_tokens_total", prompt_tokens)
    sent = 0
    try:
        if not body.get("stream"):
            while sent < output:
                sent = await seq.tokens.get()
            state.registry.inc("sandbox_generation_tokens_total", output)
            if call is not None:
                return web.json_response(call_body(request_id, model, call, prompt_tokens, output))
            text = " ".join(words)
            return web.json_response(
                completion_body(kind, request_id, model, text, finish_reason, prompt_tokens, output)
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        while sent < output:
            upto = await seq.tokens.get()
            while not seq.tokens.empty():
                upto = seq.tokens.get_nowait()
            pieces = [
                sse(call_chunk(request_id, model, call, words[i], first=i == 0) if call is not None
                    else content_chunk(kind, request_id, model, words[i] if i == 0 else " " + words[i], first=i == 0))
                for i in range(sent, upto)
            ]
            state.registry.inc("sandbox_generation_tokens_total", upto - sent)
            sent = upto
            await response.write(b"".join(pieces))
        tail = sse(final_chunk(kind, request_id, model, finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            tail += sse(usage_chunk(kind, request_id, model, prompt_tokens, output))
        await response.write(tail + SSE_DONE)
        await response.write_eof()
        return response
    finally:
        if sent < output:
            scheduler.cancel(seq)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _generate(request, "chat")


async def completions(request: web.Request) -> web.StreamResponse:
    return await _generate(request, "text")


async def models(request: web.Request) -> web.Response:
    return web.json_response(models_body([request.app[STATE].profile.name]))


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    load = {"running": len(state.scheduler.running), "waiting": len(state.scheduler.waiting)}
    if not state.ready:
        return web.json_response({"status": "loading", **load}, status=503, headers=identity())
    return web.json_response({"status": "ok", "model": state.profile.name, **load}, headers=identity())


async def metrics(request: web.Request) -> web.Response:
    return web.Response(text=request.app[STATE].registry.render(), content_type="text/plain")


async def admin_gpu(request: web.Request) -> web.Response:
    """Shrink (bytes) or restore (null) the GPU memory this replica may use."""
    state = request.app[STATE]
    body = await request.json()
    value = body.get("gpu_memory")
    previous = state.gpu_available
    state.gpu_available = state.gpu.total if value is None else int(value)
    log.info("gpu memory %d -> %d bytes", previous, state.gpu_available)
    return web.json_response(
        {"gpu_memory": state.gpu_available, "gpu_memory_total": state.gpu.total, "previous": previous}
    )


async def admin_degrade(request: web.Request) -> web.Response:
    """Start (`{answer, share, tokens, model, seed}`) or end (null) a bad rollout: wrong answers, still 200."""
    state = request.app[STATE]
    body = await request.json() if request.can_read_body else None
    previous = state.degradation.affected if state.degradation is not None else 0
    try:
        state.degradation = None if body is None else Degradation.from_body(body)
    except ValueError as exc:
        return _json_error(400, str(exc), "invalid_request_error")
    log.info("degradation %s", state.degradation)
    return web.json_response({"degrading": state.degradation is not None, "affected_before": previous})


async def _add_identity(request: web.Request, response: web.StreamResponse) -> None:
    state = request.app[STATE]
    response.headers["x-sandbox-replica"] = state.name
    response.headers["x-sandbox-region"] = state.region
    if request.path.startswith("/v1/"):
        state.registry.inc("sandbox_requests_total", status=str(response.status))


def build_app(
    config: SandboxConfig, name: str, region: str, model: str, cold_start: float, gpu_memory: int | None
) -> web.Application:
    profile = model_profile(config, model)
    gpu = GpuModel(total=config.gpu_memory, kv_cache_tokens=config.kv_cache_tokens, weights_share=profile.weights_share)
    scheduler = BatchScheduler(
        max_running=config.max_running,
        kv_cache_tokens=config.kv_cache_tokens,
        decode_step=profile.decode_step,
        prefill_per_token=profile.prefill_per_token,
    )
    state = ReplicaState(
        name=name,
        region=region,
        config=config,
        profile=profile,
        gpu=gpu,
        gpu_available=gpu.total if gpu_memory is None else gpu_memory,
        scheduler=scheduler,
        ready_at=time.monotonic() + cold_start,
    )
    reg = state.registry
    reg.counter("sandbox_requests_total", "API requests answered, by HTTP status.")
    reg.counter("sandbox_prompt_tokens_total", "Prompt tokens admitted.")
    reg.counter("sandbox_generation_tokens_total", "Tokens generated.")
    reg.gauge("sandbox_num_requests_running", "Sequences in the running batch.", lambda: len(scheduler.running))
    reg.gauge("sandbox_num_requests_waiting", "Sequences waiting for KV cache or a batch slot.", lambda: len(scheduler.waiting))
    reg.gauge("sandbox_kv_cache_usage_ratio", "Share of the KV-cache token budget reserved.", lambda: scheduler.kv_usage)
    reg.gauge("sandbox_gpu_memory_used_bytes", "Simulated GPU memory in use.", lambda: gpu.needed(scheduler.kv_used))
    reg.gauge("sandbox_gpu_memory_total_bytes", "Simulated GPU memory available.", lambda: state.gpu_available)

    app = web.Application()
    app[STATE] = state
    app.on_response_prepare.append(_add_identity)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/admin/gpu", admin_gpu)
    app.router.add_post("/admin/degrade", admin_degrade)

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        task = asyncio.create_task(scheduler.run())
        log.info("loading %s for %.2fs", model, cold_start)
        yield
        task.cancel()

    app.cleanup_ctx.append(lifecycle)
    return app


def main(argv: list[str] | None = None) -> None:
    args = parse_component_args(
        "brownout sandbox LLM replica", argv, region=str, model=str, cold_start=float, gpu_memory=int
    )
    config: SandboxConfig = args.config
    app = build_app(
        config, args.name, args.region, args.model or config.primary_model, args.cold_start or 0.0, args.gpu_memory
    )
    serve(app, args.port, args.name)


if __name__ == "__main__":
    main()
