"""Token accounting of one request: server usage, else the offline tokenizer, else content chunks.

Pure. One source per request, recorded with the counts (shared/metrics.md:
never mix sources silently), so a server that reports usage for the output
but not the prompt leaves the input count empty rather than tokenizing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brownout.loadgen.records import TokenSource
from brownout.loadgen.responses import Reply
from brownout.loadgen.tokenizer import TokenCounter

__all__ = ["TokenCounts", "prompt_texts", "token_counts"]


@dataclass(frozen=True)
class TokenCounts:
    input: int | None
    output: int | None
    source: TokenSource


def prompt_texts(kind: str, body: dict[str, Any]) -> list[str]:
    """The prompt text pieces of a request body: chat message contents, the completion prompt, the embedding input."""
    if kind == "chat":
        return [m["content"] for m in body.get("messages", ()) if isinstance(m.get("content"), str)]
    value = body.get("prompt" if kind == "completions" else "input")
    if kind in ("completions", "embeddings") and isinstance(value, str):
        return [value]
    return []


def token_counts(kind: str, reply: Reply, prompt: list[str], counter: TokenCounter | None) -> TokenCounts:
    """Input and output tokens of a request and where they came from.

    usage: the server reported `completion_tokens` (embeddings: `prompt_tokens`);
    tokenizer: `counter` counts the prompt pieces and the generated text;
    chunks: content-carrying events of a stream (no input count).
    """
    if reply.output_tokens is not None or (kind == "embeddings" and reply.input_tokens is not None):
        return TokenCounts(reply.input_tokens, reply.output_tokens, "usage")
    if counter is not None and kind in ("chat", "completions", "embeddings"):
        output = counter.count("".join(reply.answer)) if kind != "embeddings" else None
        return TokenCounts(sum(counter.count(p) for p in prompt), output, "tokenizer")
    if reply.streamed:
        return TokenCounts(None, reply.content_events, "chunks")
    return TokenCounts(None, None, "none")
