"""Pure parts of the sandbox: batching cost, GPU memory, tokens, retrieval, routing, rate limit, metrics."""

from __future__ import annotations

import pytest

from brownout.sandbox.batching import step_time
from brownout.sandbox.config import SandboxConfig
from brownout.sandbox.corpus import CORPUS
from brownout.sandbox.embedding import cosine, embed_text, keyword_search, vector_search
from brownout.sandbox.gpu import GpuModel, oom_message
from brownout.sandbox.prom import Registry
from brownout.sandbox.ratelimit import TokenBucket
from brownout.sandbox.routing import Upstream, fragile_pick, resilient_plan
from brownout.sandbox.text import count_tokens, generate_words
from brownout.sandbox.wire import prompt_text


def test_step_time_grows_with_batch_and_prefill() -> None:
    assert step_time(0.02, 1, 0, 0.001) == pytest.approx(0.0206)
    assert step_time(0.02, 10, 0, 0.001) == pytest.approx(0.026)
    assert step_time(0.02, 1, 100, 0.001) == pytest.approx(0.1206)


def test_gpu_model_weights_plus_kv() -> None:
    gpu = GpuModel(total=16 * 2**30, kv_cache_tokens=16384, weights_share=0.5)
    assert gpu.needed(0) == 8 * 2**30
    assert gpu.needed(16384) <= gpu.total  # a full KV cache fits the configured memory
    assert gpu.needed(100) > gpu.needed(0)
    assert oom_message(gpu, 0, 100, 512 * 2**20).startswith("CUDA out of memory. Tried to allocate ")


def test_tokens_are_words_and_answers_are_deterministic() -> None:
    assert count_tokens("  What is\tthe capital\nof France? ") == 6
    first = generate_words("What is the capital of France?", "p", 42, 12)
    assert first == generate_words("What is the capital of France?", "p", 42, 12)
    assert first[0] == "Paris" and len(first) == 12
    assert generate_words("hello", "p", 42, 5) != generate_words("hello", "p", 43, 5)


def test_prompt_text_rejects_malformed_bodies() -> None:
    assert prompt_text("chat", {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]}) == ("s\nq", "q")
    assert prompt_text("text", {"prompt": ["a", "b"]}) == ("a b", "a b")
    with pytest.raises(ValueError):
        prompt_text("chat", {"messages": []})
    with pytest.raises(TypeError):
        prompt_text("text", {"prompt": 3})


def test_embeddings_rank_the_matching_document_first() -> None:
    vector = embed_text("What is the capital of France?")
    assert cosine(vector, vector) == pytest.approx(1.0)
    index = [(doc, embed_text(doc["title"] + " " + doc["text"])) for doc in CORPUS]
    assert vector_search(vector, index, 3)[0][0]["id"] == "geo-france"
    assert keyword_search("What is the capital of France?", CORPUS, 3)[0][0]["id"] == "geo-france"
    assert vector_search(embed_text("why is the sky blue"), index, 1)[0][0]["id"] == "space-sky"


def test_resilient_plan_prefers_healthy_home_then_least_loaded() -> None:
    ups = [
        Upstream("a", "home", "", "m", healthy=True, in_flight=3),
        Upstream("b", "home", "", "m", healthy=True, in_flight=1),
        Upstream("c", "away", "", "m", healthy=True),
        Upstream("d", "home", "", "m", healthy=False),
        Upstream("e", "home", "", "m", healthy=True, waiting=9),
        Upstream("f", "home", "", "small", healthy=True),
    ]
    assert [u.name for u in resilient_plan(ups, "m", "home", overload_waiting=8)] == ["b", "a", "c"]
    assert [u.name for u in resilient_plan(ups, "m", "home", 8, frozenset({"a", "b"}))] == ["c"]
    assert [fragile_pick(ups, "m", "home", i).name for i in range(5)] == ["a", "b", "d", "e", "a"]  # type: ignore[union-attr]
    assert fragile_pick(ups, "m", "nowhere", 0) is None


def test_token_bucket_throttles_and_refills() -> None:
    bucket = TokenBucket(rate=100)
    assert bucket.take(60, now=0.0) == 0
    assert bucket.take(60, now=0.0) == 1.0
    assert bucket.take(60, now=0.5) == 0  # refilled 50 tokens
    assert bucket.take(1000, now=10.0) == 0  # larger than the burst: allowed on a full bucket


def test_registry_renders_prometheus_text() -> None:
    reg = Registry()
    reg.counter("x_total", "Things.")
    reg.inc("x_total", status="200")
    reg.inc("x_total", 2, status="500")
    reg.gauge("y_bytes", "Bytes.", lambda: 17179869184)
    text = reg.render()
    assert 'x_total{status="200"} 1\n' in text and 'x_total{status="500"} 2\n' in text
    assert "# TYPE y_bytes gauge\ny_bytes 17179869184\n" in text


def test_config_round_trips_and_validates() -> None:
    config = SandboxConfig(profile="fragile", regions=["a", "b"], seed=7)
    assert SandboxConfig.from_json(config.to_json()) == config
    assert config.home_region == "a"
    with pytest.raises(ValueError):
        SandboxConfig(profile="sturdy")  # type: ignore[arg-type]

    class Target:  # duck-typed like the spec's SandboxTarget
        profile = "fragile"
        regions = ("x",)
        cold_start = 2.5

    assert SandboxConfig.from_target(Target(), seed=1) == SandboxConfig(profile="fragile", regions=("x",), cold_start=2.5, seed=1)
