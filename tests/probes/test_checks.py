"""Each HTTP probe kind against a real local server: pass, fail its check, time out, down."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from pydantic import TypeAdapter

from brownout.errors import ProbeError
from brownout.spec.probes import Probe
from brownout.rundata.clock import RunClock
from brownout.probes.registry import build_check
from brownout.rundata.probes import ProbeResult
from brownout.probes.target import ProbeTarget
from brownout.processes import free_port

PROBE = TypeAdapter(Probe)

SPECS = {
    "chat": {"kind": "chat", "name": "canary", "prompt": "What is the capital of France?", "expect": {"contains": "paris"}},
    "embeddings": {"kind": "embeddings", "name": "embed", "text": "capital of France", "dimension": 16,
                   "reference_text": "France capital of", "min_similarity": 0.99},
    "rag": {"kind": "rag", "name": "rag", "question": "Capital of France?", "expect_source": "doc-paris",
            "expect": {"contains": "Paris"}},
    "http": {"kind": "http", "name": "health", "path": "/health", "body_contains": "ok"},
}


def probe(kind: str, **overrides) -> object:
    return PROBE.validate_python({**SPECS[kind], "timeout": 2.0, **overrides})


def run(spec, target: ProbeTarget) -> ProbeResult:
    async def once() -> ProbeResult:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await build_check(spec).run(client, target)

    return asyncio.run(once())


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_passes(kind, fake_ai, target):
    result = run(probe(kind), target)
    assert result.ok, result.reason
    assert result.reason == "ok" and result.kind == kind
    assert 0 < result.latency < 2
    assert abs(result.t - target.clock.now()) < 5


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_bad_status_fails(kind, fake_ai, target):
    fake_ai.behaviour.status = 503
    result = run(probe(kind), target)
    assert not result.ok
    assert result.reason.startswith("status 503 != 200"), result.reason
    assert result.latency is not None


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_timeout(kind, fake_ai, target):
    fake_ai.behaviour.delay = 1.5
    result = run(probe(kind, timeout=0.3), target)
    assert not result.ok
    assert result.reason == "timeout after 300ms"
    assert result.latency is None


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_down_is_connection_refused(kind):
    down = ProbeTarget(base_url=f"http://127.0.0.1:{free_port()}", clock=RunClock())
    result = run(probe(kind), down)
    assert (result.ok, result.reason, result.latency) == (False, "connection refused", None)


def test_chat_content_check_fails_on_wrong_answer(fake_ai, target):
    fake_ai.behaviour.answer = "The capital of France is Lyon."
    result = run(probe("chat"), target)
    assert not result.ok
    assert result.reason == "content check: answer does not contain 'paris' (got 'The capital of France is Lyon.')"


def test_chat_sends_model_and_api_key_to_target(fake_ai, target):
    assert run(probe("chat"), target).ok
    path, headers = fake_ai.seen[-1]
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer sk-test"


@pytest.mark.parametrize(
    "expect, answer, ok",
    [
        ({"regex": r"\bParis\b"}, "It is Paris.", True),
        ({"regex": r"^Paris$"}, "It is Paris.", False),
        ({"equals": "Paris"}, "  Paris\n", True),
        ({"equals": "Paris"}, "paris", False),
        ({"json_schema": {"type": "object", "required": ["city"], "properties": {"city": {"const": "Paris"}}}},
         '{"city": "Paris"}', True),
        ({"json_schema": {"type": "object", "required": ["city"], "properties": {"city": {"const": "Paris"}}}},
         '{"city": "Lyon"}', False),
        ({"json_schema": {"type": "object"}}, "Paris", False),
    ],
)
def test_chat_content_check_kinds(fake_ai, target, expect, answer, ok):
    fake_ai.behaviour.answer = answer
    result = run(probe("chat", expect=expect), target)
    assert result.ok is ok, result.reason
    if not ok:
        assert result.reason.startswith("content check: answer ")


def test_chat_empty_answer_fails(fake_ai, target):
    fake_ai.behaviour.answer = ""
    assert run(probe("chat"), target).reason == "empty completion"


def test_chat_latency_budget(fake_ai, target):
    fake_ai.behaviour.delay = 0.3
    result = run(probe("chat", latency_budget=0.1), target)
    assert not result.ok and result.reason.startswith("latency 0.") and result.reason.endswith("> budget 100ms")


def test_embeddings_dimension_check_fails(fake_ai, target):
    fake_ai.behaviour.dimension = 8
    result = run(probe("embeddings"), target)
    assert (result.ok, result.reason) == (False, "dimension 8 != 16")


def test_embeddings_similarity_fails_on_unrelated_vectors(fake_ai, target):
    fake_ai.behaviour.scrambled = True
    result = run(probe("embeddings"), target)
    assert not result.ok
    assert result.reason.startswith("similarity ") and result.reason.endswith("< 0.99 to the reference")
    assert result.value is not None and result.value < 0.99


def test_embeddings_reference_fetched_once(fake_ai, target):
    check = build_check(probe("embeddings"))

    async def twice() -> list[ProbeResult]:
        async with httpx.AsyncClient(trust_env=False) as client:
            return [await check.run(client, target), await check.run(client, target)]

    results = asyncio.run(twice())
    assert all(r.ok for r in results) and results[0].value == pytest.approx(1.0)
    assert [p for p, _ in fake_ai.seen].count("/v1/embeddings") == 3


def test_rag_source_check_fails(fake_ai, target):
    fake_ai.behaviour.sources = ["doc-lyon", "doc-nice"]
    result = run(probe("rag"), target)
    assert (result.ok, result.reason) == (False, "source check: 'doc-paris' not among sources [doc-lyon, doc-nice]")


def test_rag_answer_check_fails(fake_ai, target):
    fake_ai.behaviour.answer = "I don't know."
    result = run(probe("rag"), target)
    assert not result.ok and result.reason.startswith("content check: answer does not contain 'Paris'")
    assert result.value == pytest.approx(0.9)  # the expected source was found, with its score


def test_http_body_check_fails(fake_ai, target):
    fake_ai.behaviour.health_body = "degraded"
    result = run(probe("http", body_contains="ok"), target)
    assert (result.ok, result.reason) == (False, "body does not contain 'ok'")


def test_http_expected_status(fake_ai, target):
    fake_ai.behaviour.status = 503
    assert run(probe("http", status=503, body_contains=None), target).ok


def test_http_full_url_gets_no_api_key(fake_ai, target):
    other = dataclasses.replace(target, base_url=f"http://127.0.0.1:{free_port()}")  # the target itself is down
    result = run(probe("http", path=f"{fake_ai.url}/health"), other)
    assert result.ok, result.reason
    _, headers = fake_ai.seen[-1]
    assert "Authorization" not in headers


def test_bad_url_is_a_probe_error():
    bad = ProbeTarget(base_url="ftp://127.0.0.1:1", clock=RunClock())
    with pytest.raises(ProbeError, match="bad URL"):
        run(probe("http"), bad)


def test_embeddings_reference_failure_is_reported(fake_ai, target):
    fake_ai.behaviour.status = 500
    result = run(probe("embeddings"), target)
    assert not result.ok and result.reason in ("status 500 != 200", "reference embedding: status 500 != 200")
