"""A replica's bad rollout: for a seeded share of requests, answer wrongly while staying a valid 200.

The same kinds as the stream proxy's `degrade` mode (brownout.faults.stream.degrade), made
where the answer is generated: a wrong answer (filler words, no canary), one truncated to
`tokens` with finish_reason stop, an empty one, or one that names another model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from brownout.sandbox.text import generate_words

__all__ = ["Answer", "Degradation"]

_MODES = ("wrong_answer", "truncate", "empty", "other_model")


@dataclass(frozen=True)
class Answer:
    words: list[str]
    finish_reason: str
    model: str


@dataclass
class Degradation:
    """What the replica's admin API was told (`POST /admin/degrade`), and its seeded per-request draw."""

    mode: str
    share: float = 1.0
    tokens: int = 1
    model: str = "brownout-impostor"
    seed: int = 42
    rng: random.Random = field(init=False, repr=False)
    affected: int = 0

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"answer must be one of {', '.join(_MODES)}")
        if not 0 <= self.share <= 1 or self.tokens < 1:
            raise ValueError("share must be within 0..1 and tokens at least 1")
        self.rng = random.Random(f"{self.seed}:degrade")

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Degradation:
        """From the admin API's JSON (`answer`, `share`, `tokens`, `model`, `seed`); ValueError when malformed."""
        try:
            return cls(mode=str(body["answer"]), share=float(body.get("share", 1.0)), tokens=int(body.get("tokens", 1)),
                       model=str(body.get("model") or "brownout-impostor"), seed=int(body.get("seed", 42)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"expected {{answer, share, tokens, model, seed}}: {exc}") from None

    def apply(self, answer: Answer, prompt: str, seed: int) -> Answer:
        """`answer` as this degradation makes it, for the share of requests the draw picks."""
        if self.rng.random() >= self.share:
            return answer
        self.affected += 1
        count = len(answer.words)
        if self.mode == "wrong_answer":
            return Answer(generate_words("", prompt, seed, count), answer.finish_reason, answer.model)
        if self.mode == "truncate":
            return Answer(answer.words[: self.tokens], "stop", answer.model)
        if self.mode == "empty":
            return Answer([""], "stop", answer.model)  # one empty token: the stream carries no text
        return Answer(answer.words, answer.finish_reason, self.model)
