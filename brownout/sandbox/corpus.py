"""The RAG knowledge base the gateway searches: short documents with stable ids.

Shipped as code (not a data file) so it is always installed with the package.
One document per canary question lets content probes check retrieval end to end.
"""

from __future__ import annotations

from brownout.sandbox.embedding import Document

__all__ = ["CORPUS"]

CORPUS: tuple[Document, ...] = (
    {"id": "geo-france", "title": "France", "text": "Paris is the capital and largest city of France, on the Seine river."},
    {"id": "geo-japan", "title": "Japan", "text": "Tokyo is the capital of Japan and one of the largest metropolitan areas in the world."},
    {"id": "geo-italy", "title": "Italy", "text": "Rome is the capital of Italy; the Tiber river runs through the city."},
    {"id": "space-jupiter", "title": "Jupiter", "text": "Jupiter is the largest planet in the solar system, a gas giant with a great red spot."},
    {"id": "space-sky", "title": "Sky colour", "text": "The sky looks blue because air scatters short blue wavelengths of sunlight more than red ones."},
    {"id": "math-arith", "title": "Arithmetic", "text": "Two plus two equals four; addition of whole numbers is commutative."},
    {"id": "llm-kv-cache", "title": "KV cache", "text": "The KV cache stores attention keys and values of earlier tokens so decoding does not recompute them."},
    {"id": "llm-batching", "title": "Continuous batching", "text": "Continuous batching adds and removes sequences at every decode step to keep the GPU busy."},
    {"id": "llm-ttft", "title": "Time to first token", "text": "Time to first token measures queueing plus prefill, the wait before the first generated token arrives."},
    {"id": "llm-itl", "title": "Inter-token latency", "text": "Inter-token latency is the gap between consecutive streamed tokens during decoding."},
    {"id": "llm-oom", "title": "GPU out of memory", "text": "A CUDA out of memory error happens when weights and KV cache no longer fit in GPU memory."},
    {"id": "ops-failover", "title": "Regional failover", "text": "Regional failover sends traffic to another region when every replica of the home region is down."},
    {"id": "ops-retry", "title": "Retries", "text": "Retries with backoff hide transient errors, but a streamed answer cannot be replayed once sent."},
    {"id": "ops-fallback", "title": "Fallback model", "text": "A smaller fallback model keeps answering, with lower quality, when the primary model is overloaded."},
    {"id": "ops-rate-limit", "title": "Rate limiting", "text": "Token based rate limiting answers 429 with a Retry-After header when clients send too many tokens."},
    {"id": "ops-cold-start", "title": "Cold start", "text": "A restarted replica must load model weights into GPU memory before it can serve requests."},
    {"id": "rag-embedding", "title": "Embeddings", "text": "Embeddings map text to vectors so that similar texts have a high cosine similarity."},
    {"id": "rag-keyword", "title": "Keyword search", "text": "Keyword search matches query terms literally and is a cheap fallback for vector search."},
    {"id": "ops-slo", "title": "Service level objectives", "text": "An SLO sets a target such as p95 latency under two seconds; the error budget is what it allows to fail."},
    {"id": "ops-chaos", "title": "Chaos engineering", "text": "Chaos engineering injects faults on purpose to verify that a system degrades gracefully and recovers."},
)
