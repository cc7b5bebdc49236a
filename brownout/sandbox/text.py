"""Tokens and generated text of the simulated models.

A token is a whitespace-separated word: no tokenizer download is needed, and a
client counting words gets the same numbers as the server's `usage`. Generated
text is deterministic (seeded by the prompt) so runs can be compared, and a few
canary questions get a correct answer so content probes can pass or fail.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["CANARIES", "count_tokens", "generate_words", "natural_length", "prompt_seed"]

CANARIES: dict[str, str] = {
    "capital of france": "Paris is the capital of France.",
    "capital of japan": "Tokyo is the capital of Japan.",
    "2 + 2": "2 + 2 = 4.",
    "2+2": "2 + 2 = 4.",
    "color of the sky": "The sky is blue on a clear day.",
    "largest planet": "Jupiter is the largest planet in the solar system.",
}

_VOCABULARY = (
    "the a of to and in is that for it as with on by this be are from at or an was which "
    "model system request token stream latency region replica cache memory batch answer "
    "service network signal queue load result value time data user context prompt output "
    "resilience failure recovery budget gateway vector search document source retrieval"
).split()


def count_tokens(text: str) -> int:
    """Tokens in `text`: whitespace-separated words."""
    return len(text.split())


def prompt_seed(prompt: str, seed: int) -> int:
    """A stable per-prompt seed (Python's hash() is salted per process, so use blake2b)."""
    digest = hashlib.blake2b(f"{seed}\0{prompt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def natural_length(prompt: str, seed: int, low: int, high: int) -> int:
    """How many tokens the model would write before its end-of-sequence token."""
    return random.Random(prompt_seed(prompt, seed)).randint(low, high)


def _canary(question: str) -> str | None:
    lowered = question.lower()
    for key, answer in CANARIES.items():
        if key in lowered:
            return answer
    return None


def generate_words(question: str, prompt: str, seed: int, count: int) -> list[str]:
    """`count` words answering `question` (canary answer first, then seeded filler)."""
    canary = _canary(question)
    words = canary.split() if canary else []
    rng = random.Random(prompt_seed(prompt, seed) ^ 0x5EED)
    while len(words) < count:
        words.append(rng.choice(_VOCABULARY))
    return words[:count]
