"""Prompt sources: synthetic token-length distributions (optionally with shared
prefixes or multi-turn sessions), long-context floods, JSONL files, ShareGPT.

A dataset is loaded once into a list of `Prompt`s; request k uses prompt
k mod len. Everything is deterministic under the load's seed. Without an
offline tokenizer, synthetic lengths are counted in words drawn from a list of
common English words, which most BPE tokenizers encode as one token each.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from brownout.errors import LoadError
from brownout.spec.load import (
    Dataset,
    JsonlDataset,
    LongContextDataset,
    SyntheticDataset,
    TokenLength,
)
from brownout.spec.probes import ContentCheck, first_problem

__all__ = ["Prompt", "load_prompts", "mean_output_tokens", "sample_length"]

SYNTHETIC_POOL = 512
_WORDS = ["the", "of", "and", "to", "in", "is", "was", "for", "on", "are", "with", "as", "be", "at", "by", "this", "had", "not", "but", "from", "or", "have", "an", "they", "which", "one", "you", "were", "all", "we", "when", "there", "can", "been", "has", "more", "if", "no", "out", "do", "so", "what", "up", "about", "who", "them", "some", "could", "into", "time", "my", "than", "first", "water", "been", "call", "people", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new", "sound", "take", "only", "little", "work", "know", "place", "year", "live", "me", "back", "give", "most", "very", "after", "thing", "our", "just", "name", "good", "sentence", "man", "think", "say", "great", "where", "help", "through", "much", "before", "line", "right", "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want", "show", "also", "around", "form", "three", "small", "set", "put", "end", "does", "another", "well", "large", "must", "big", "even", "such", "because", "turn"]


@dataclass(frozen=True)
class Prompt:
    text: str                                 # prompt text (chat: the user message)
    messages: tuple[dict[str, Any], ...] = () # full chat history when the dataset has one
    max_tokens: int | None = None
    followups: tuple["Prompt", ...] = ()      # later user turns of a multi-turn session
    checks: tuple[ContentCheck, ...] = ()     # JSONL items: the expected answer (accuracy of load traffic)


def mean_output_tokens(prompts: list[Prompt]) -> float | None:
    """Mean requested output length (max_tokens, all turns); None when no prompt sets it."""
    lengths = [t.max_tokens for p in prompts for t in (p, *p.followups) if t.max_tokens is not None]
    return sum(lengths) / len(lengths) if lengths else None


def sample_length(dist: TokenLength, rng: random.Random) -> int:
    """One draw from a token-length distribution, rounded and clamped to [min, max]."""
    if dist.dist == "fixed":
        value = dist.mean
    elif dist.dist == "uniform":
        value = rng.uniform(dist.mean - dist.stddev, dist.mean + dist.stddev)
    elif dist.dist == "normal":
        value = rng.gauss(dist.mean, dist.stddev)
    else:  # lognormal with the given mean and stddev of the variable itself
        sigma2 = math.log1p((dist.stddev / dist.mean) ** 2)
        value = rng.lognormvariate(math.log(dist.mean) - sigma2 / 2, math.sqrt(sigma2))
    return int(min(dist.max, max(dist.min, round(value))))


def load_prompts(dataset: Dataset, base_dir: Path, seed: int) -> list[Prompt]:
    """All prompts of a dataset, in a deterministic order. Raises LoadError naming the file."""
    if isinstance(dataset, SyntheticDataset):
        return _synthetic(dataset, seed)
    if isinstance(dataset, LongContextDataset):
        return _long_context(dataset, seed)
    path = Path(dataset.path)
    if not path.is_absolute():
        path = Path(base_dir) / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LoadError(f"dataset {path}: {exc.strerror or exc}") from exc
    rows = _rows(text, path)
    if isinstance(dataset, JsonlDataset):
        prompts = [_jsonl_prompt(r, path, n) for n, r in rows]
    else:
        prompts = _sharegpt(rows, dataset.sessions.max_turns if dataset.sessions else 1)
    if not prompts:
        raise LoadError(f"dataset {path}: no usable prompts")
    return prompts


def _synthetic(dataset: SyntheticDataset, seed: int) -> list[Prompt]:
    rng = random.Random(seed)
    prefix = dataset.shared_prefix
    # one RNG per purpose, so adding prefixes or sessions does not reshuffle the other draws
    prefix_rng = random.Random(f"{seed}:prefix")
    prefixes = [" ".join(prefix_rng.choices(_WORDS, k=prefix.tokens)) + " " for _ in range(prefix.groups)] if prefix else [""]
    turns = dataset.sessions.turns if dataset.sessions else 1
    prompts = []
    for i in range(SYNTHETIC_POOL):
        head = prefixes[i % len(prefixes)]
        turn_prompts = []
        for _ in range(turns):
            n_in = sample_length(dataset.input_tokens, rng)
            n_out = sample_length(dataset.output_tokens, rng)
            turn_prompts.append(Prompt(" ".join(rng.choices(_WORDS, k=n_in)), max_tokens=n_out))
        first, rest = turn_prompts[0], tuple(turn_prompts[1:])
        prompts.append(Prompt(head + first.text, max_tokens=first.max_tokens, followups=rest))
    return prompts


def _long_context(dataset: LongContextDataset, seed: int) -> list[Prompt]:
    """Distinct prompts of unrelated words, each filling `fill` of the context with its output."""
    rng = random.Random(f"{seed}:long-context")
    n_in = int(dataset.fill * dataset.context_tokens) - dataset.output_tokens
    return [Prompt(" ".join(rng.choices(_WORDS, k=n_in)), max_tokens=dataset.output_tokens) for _ in range(dataset.prompts)]


def _rows(text: str, path: Path) -> list[tuple[int, Any]]:
    """(line number, object) pairs from a JSON array file or a JSON-lines file."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            return [(1, row) for row in json.loads(stripped)]
        except json.JSONDecodeError as exc:
            raise LoadError(f"dataset {path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise LoadError(f"dataset {path}:{n}: invalid JSON: {exc.msg}") from exc
    return rows


def _jsonl_prompt(row: Any, path: Path, line: int) -> Prompt:
    if not isinstance(row, dict):
        raise LoadError(f"dataset {path}:{line}: expected an object with 'prompt' or 'messages'")
    max_tokens = row.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise LoadError(f"dataset {path}:{line}: max_tokens: expected a positive integer")
    checks = _checks(row.get("checks"), path, line)
    if isinstance(row.get("messages"), list) and row["messages"]:
        messages = tuple({"role": str(m.get("role", "user")), "content": str(m.get("content", ""))} for m in row["messages"])
        return Prompt(messages[-1]["content"], messages=messages, max_tokens=max_tokens, checks=checks)
    if isinstance(row.get("prompt"), str):
        return Prompt(row["prompt"], max_tokens=max_tokens, checks=checks)
    raise LoadError(f"dataset {path}:{line}: expected 'prompt' (string) or 'messages' (list)")


_CHECKS = TypeAdapter(list[ContentCheck])


def _checks(raw: Any, path: Path, line: int) -> tuple[ContentCheck, ...]:
    """An item's `checks` (the golden-set vocabulary), or LoadError at its line and field."""
    if raw is None:
        return ()
    try:
        return tuple(_CHECKS.validate_python(raw))
    except ValidationError as exc:
        field, message = first_problem(exc, "checks")
        raise LoadError(f"dataset {path}:{line}: {field}: {message}") from None


def _sharegpt(rows: list[tuple[int, Any]], max_turns: int) -> list[Prompt]:
    """Each conversation's human turns (up to `max_turns`, from its first one) as one prompt and its follow-ups.

    A turn counts when a human message with text is followed by a reply, whose length (~4/3 token
    per word) becomes max_tokens; the conversation stops at the first turn that does not.
    """
    prompts = []
    for _, row in rows:
        messages = row.get("conversations") if isinstance(row, dict) else None
        turns = _human_turns(messages) if isinstance(messages, list) else []
        if turns:
            first, *rest = turns[:max_turns]
            prompts.append(Prompt(first.text, max_tokens=first.max_tokens, followups=tuple(rest)))
    return prompts


def _human_turns(messages: list[Any]) -> list[Prompt]:
    turns = []
    for ask, reply in zip(messages[::2], messages[1::2]):
        if not (isinstance(ask, dict) and isinstance(reply, dict)) or ask.get("from") != "human" or not ask.get("value"):
            break
        words = len(str(reply.get("value", "")).split())
        turns.append(Prompt(str(ask["value"]), max_tokens=max(1, round(words * 4 / 3))))
    return turns
