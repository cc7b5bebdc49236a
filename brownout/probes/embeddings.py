"""Embeddings probe: dimension and cosine similarity to a reference text's embedding.

A broken embedding service often still answers 200: with the wrong model (wrong
dimension) or garbage vectors (low similarity to a text that should be close).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import httpx

from brownout.spec.probes import EmbeddingsProbe
from brownout.probes.base import CheckFailed, ProbeCheck, expect_status, json_body
from brownout.probes.target import ProbeTarget

__all__ = ["EmbeddingsCheck", "cosine_similarity"]


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float | None:
    """cos(a, b) = a.b / (|a| |b|); None when either vector is zero or the lengths differ."""
    if len(a) != len(b):
        return None
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    if norm == 0:
        return None
    return sum(x * y for x, y in zip(a, b)) / norm


def first_vector(body: object) -> list[float]:
    try:
        vector = body["data"][0]["embedding"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        raise CheckFailed("malformed response: no data[0].embedding") from None
    if not isinstance(vector, list) or not vector or not all(isinstance(x, (int, float)) for x in vector):
        raise CheckFailed("malformed response: data[0].embedding is not a list of numbers")
    return [float(x) for x in vector]


class EmbeddingsCheck(ProbeCheck[EmbeddingsProbe]):
    kind = "embeddings"

    def __init__(self, spec: EmbeddingsProbe) -> None:
        super().__init__(spec)
        self._reference: list[float] | None = None  # fetched once, on the first successful run

    async def _embed(self, client: httpx.AsyncClient, target: ProbeTarget, text: str) -> list[float]:
        response = await client.post(
            target.url("/v1/embeddings"),
            json={"model": self.spec.model or target.model, "input": text},
            headers=dict(target.headers),
            timeout=self.timeout,
        )
        expect_status(response)
        return first_vector(json_body(response))

    async def _reference_vector(self, client: httpx.AsyncClient, target: ProbeTarget) -> list[float]:
        assert self.spec.reference_text is not None
        try:
            return await self._embed(client, target, self.spec.reference_text)
        except CheckFailed as failed:
            raise CheckFailed(f"reference embedding: {failed.reason}") from None

    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        if self.spec.reference_text is not None and self._reference is None:
            # Both requests finish (or are cancelled together by the timeout) before either error is raised.
            outcomes = await asyncio.gather(
                self._embed(client, target, self.spec.text), self._reference_vector(client, target), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            vector, self._reference = outcomes
        else:
            vector = await self._embed(client, target, self.spec.text)
        if self.spec.dimension is not None and len(vector) != self.spec.dimension:
            raise CheckFailed(f"dimension {len(vector)} != {self.spec.dimension}")
        if self._reference is None:
            return None
        similarity = cosine_similarity(vector, self._reference)
        if similarity is None:
            raise CheckFailed(f"similarity undefined (zero vector or dimension {len(vector)} vs reference {len(self._reference)})")
        if similarity < self.spec.min_similarity:
            raise CheckFailed(f"similarity {similarity:.3f} < {self.spec.min_similarity:g} to the reference", similarity)
        return similarity
