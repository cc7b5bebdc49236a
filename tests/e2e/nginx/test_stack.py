"""The stack itself, without brownout: what the verdict tests take for granted about nginx and the proxies."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.nginx.stack import Stack

pytestmark = pytest.mark.slow

BODY = {"model": "big", "messages": [{"role": "user", "content": "hi"}], "stream": True,
        "stream_options": {"include_usage": True}}


def events(response: httpx.Response) -> list[str]:
    return [line[len("data: "):] for line in response.iter_lines() if line.startswith("data: ")]


def test_nginx_streams_unbuffered(stack: Stack):
    """The first token reaches the client while the upstream holds the rest back: nginx passes SSE on as it
    comes (with proxy_buffering on, nothing would arrive before the release)."""
    headers = {"x-request-id": "unbuffered-1", "x-hold-after-first": "1"}
    with httpx.stream("POST", f"{stack.resilient.url}/v1/chat/completions", timeout=10, headers=headers,
                      json={**BODY, "max_tokens": 4}) as response:
        assert response.status_code == 200
        region = response.headers["x-upstream-region"]
        upstream = next(u for u in stack.upstreams.values() if u.region == region)
        lines = response.iter_lines()
        first = next(line for line in lines if '"content":"t0 "' in line)
        assert upstream.stats()["held"] == ["unbuffered-1"]  # still holding: the token came through unbuffered
        httpx.post(f"{upstream.url}/release/unbuffered-1", timeout=5).raise_for_status()
        rest = [line for line in lines if line.startswith("data: ")]
    chunk = json.loads(first[len("data: "):])
    assert chunk["model"] == "big" and chunk["system_fingerprint"] == f"fp-{region}"
    assert rest[-1] == "data: [DONE]" and json.loads(rest[-2][len("data: "):])["usage"]["completion_tokens"] == 4


def test_proxies_down_make_nginx_fail_over_to_b_then_the_backup(stack: Stack):
    def regions(url: str) -> list[str | int]:
        out: list[str | int] = []
        for _ in range(4):
            with httpx.stream("POST", f"{url}/v1/chat/completions", json={**BODY, "max_tokens": 2}, timeout=10) as r:
                out.append(r.headers["x-upstream-region"] if r.status_code == 200 else r.status_code)
                events(r)
        return out

    assert sorted(set(regions(stack.resilient.url))) == ["eu-west", "us-east"]  # round robin over A and B
    httpx.post(f"{stack.toxiproxy.url}/proxies/upstream-a", json={"enabled": False}, timeout=5).raise_for_status()
    assert regions(stack.resilient.url) == ["eu-west"] * 4
    assert regions(stack.fragile.url) == [502] * 4
    httpx.post(f"{stack.toxiproxy.url}/proxies/upstream-b", json={"enabled": False}, timeout=5).raise_for_status()
    assert regions(stack.resilient.url) == ["backup"] * 4
    stack.toxiproxy.reset()
    assert sorted(set(regions(stack.resilient.url))) == ["eu-west", "us-east"]
    assert regions(stack.fragile.url) == ["us-east"] * 4
