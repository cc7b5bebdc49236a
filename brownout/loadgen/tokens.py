"""Token accounting of one request: server usage, else the offline tokenizer, else content chunks.

Pure. One source per request, recorded with the counts (shared/metrics.md:
never mix sources silently), so a server that reports usage for the output
but not the prompt leaves the input count empty rather than tokenizing it.

A streamed request's `usage` is checked against what was streamed before it is
believed: with a tokenizer, within `tolerance` of its count (plus 2 tokens);
without one, between the content events (each carries at least one token) and
the UTF-8 bytes of the text (no token is smaller than a byte). A claim outside
those bounds (a million tokens for five words, zero for a streamed answer) is
set aside for the stream's own count and the disagreement is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brownout.rundata.records import TokenSource
from brownout.loadgen.responses import Reply
from brownout.loadgen.tokenizer import TokenCounter

__all__ = ["TokenCounts", "prompt_texts", "token_counts"]


@dataclass(frozen=True)
class TokenCounts:
    input: int | None
    output: int | None
    source: TokenSource
    mismatch: str | None = None  # why the server's usage was set aside for the stream's count


def prompt_texts(kind: str, body: dict[str, Any]) -> list[str]:
    """The prompt text pieces of a request body: chat message contents, the completion prompt, the embedding input."""
    if kind == "chat":
        return [m["content"] for m in body.get("messages", ()) if isinstance(m.get("content"), str)]
    value = body.get("prompt" if kind == "completions" else "input")
    if kind in ("completions", "embeddings") and isinstance(value, str):
        return [value]
    return []


def token_counts(
    kind: str, reply: Reply, prompt: list[str], counter: TokenCounter | None, tolerance: float = 0.5,
) -> TokenCounts:
    """Input and output tokens of a request and where they came from.

    usage: the server reported `completion_tokens` (embeddings: `prompt_tokens`),
    and for a stream it agrees with what was streamed (module doc);
    tokenizer: `counter` counts the prompt pieces and the generated text;
    chunks: content-carrying events of a stream (no input count).
    """
    if reply.output_tokens is not None or (kind == "embeddings" and reply.input_tokens is not None):
        claimed = TokenCounts(reply.input_tokens, reply.output_tokens, "usage")
        if not reply.streamed or reply.output_tokens is None:
            return claimed
        own = _own_counts(kind, reply, prompt, counter)
        why = _disagreement(reply.output_tokens, own, reply, tolerance)
        return claimed if why is None else TokenCounts(own.input, own.output, own.source, why)
    return _own_counts(kind, reply, prompt, counter)


def _disagreement(usage: int, own: TokenCounts, reply: Reply, tolerance: float) -> str | None:
    """Why `usage` (completion tokens) cannot be what was streamed; None when it can."""
    if own.source == "tokenizer" and own.output is not None:
        if abs(usage - own.output) > tolerance * own.output + 2:
            return f"usage says {usage} output tokens, the tokenizer counts {own.output} in the stream"
        return None
    if usage < reply.content_events or usage > reply.content_bytes:
        return (f"usage says {usage} output tokens, the stream carried {reply.content_events} content events "
                f"({reply.content_bytes} bytes)")
    return None


def _own_counts(kind: str, reply: Reply, prompt: list[str], counter: TokenCounter | None) -> TokenCounts:
    """Counts that do not trust the server: the tokenizer's, else the stream's content events."""
    if counter is not None and kind in ("chat", "completions", "embeddings"):
        output = counter.count("".join(reply.answer)) if kind != "embeddings" else None
        return TokenCounts(sum(counter.count(p) for p in prompt), output, "tokenizer")
    if reply.streamed:
        return TokenCounts(None, reply.content_events, "chunks")
    return TokenCounts(None, None, "none")
