"""Deterministic text embeddings and the two retrieval methods of the RAG pipeline.

An embedding is a hashed bag of words in 256 dimensions, normalised to unit
length: texts sharing words have a high cosine similarity, with no model to
download. Keyword retrieval (term overlap) is the degraded path the resilient
gateway takes when the embedding service is too slow.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence

__all__ = ["DIMENSIONS", "Document", "cosine", "embed_text", "keyword_search", "terms", "vector_search"]

DIMENSIONS = 256
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    "a an and are as at be by do does for from how in is it of on or the to was what when where which who why with".split()
)

Document = dict  # {"id": str, "title": str, "text": str}


def terms(text: str) -> list[str]:
    """Lower-cased content words, crudely singularised ('regions' -> 'region')."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


def _bucket(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % DIMENSIONS


def embed_text(text: str) -> list[float]:
    """Unit vector of hashed term counts (an empty text maps to a fixed unit vector)."""
    vector = [0.0] * DIMENSIONS
    for word in terms(text) or ["<empty>"]:
        vector[_bucket(word)] += 1.0
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def vector_search(
    query: Sequence[float], documents: Iterable[tuple[Document, Sequence[float]]], top_k: int
) -> list[tuple[Document, float]]:
    """The `top_k` documents by cosine similarity to `query`, best first."""
    scored = [(doc, cosine(query, vec)) for doc, vec in documents]
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]["id"]))[:top_k]


def keyword_search(question: str, documents: Iterable[Document], top_k: int) -> list[tuple[Document, float]]:
    """The `top_k` documents by the share of the question's terms they contain, best first."""
    wanted = set(terms(question))
    scored = []
    for doc in documents:
        have = set(terms(doc["title"] + " " + doc["text"]))
        scored.append((doc, len(wanted & have) / len(wanted) if wanted else 0.0))
    return sorted(scored, key=lambda pair: (-pair[1], pair[0]["id"]))[:top_k]
