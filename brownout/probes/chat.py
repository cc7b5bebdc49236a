"""Chat canary: a fixed prompt whose answer must pass a content check.

Catches the failure a health check cannot see: 200 OK with a wrong, empty or
fallback answer.
"""

from __future__ import annotations

import httpx

from brownout.spec.probes import ChatProbe
from brownout.probes.base import CheckFailed, ProbeCheck, expect_status, json_body
from brownout.spec.checks import content_failure
from brownout.probes.target import ProbeTarget

__all__ = ["ChatCheck"]


def answer_text(body: object, allow_empty: bool = False) -> str:
    """`choices[0].message.content` of an OpenAI chat response, or CheckFailed saying what is wrong
    (an empty answer too, unless `allow_empty`: a golden item judges it as a wrong answer)."""
    if isinstance(body, dict) and "error" in body:
        error = body["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise CheckFailed(f"error body: {message}")
    try:
        content = body["choices"][0]["message"]["content"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        raise CheckFailed("malformed response: no choices[0].message.content") from None
    if content is None and allow_empty:
        return ""
    if not isinstance(content, str) or not (content.strip() or allow_empty):
        raise CheckFailed("empty completion")
    return content


class ChatCheck(ProbeCheck[ChatProbe]):
    kind = "chat"

    def latency_budget(self) -> float | None:
        return self.spec.latency_budget

    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        request = {
            "model": self.spec.model or target.model,
            "messages": [{"role": "user", "content": self.spec.prompt}],
            "max_tokens": self.spec.max_tokens,
            "temperature": 0,
            "stream": False,
        }
        response = await client.post(
            target.url("/v1/chat/completions"), json=request, headers=dict(target.headers), timeout=self.timeout
        )
        expect_status(response)
        text = answer_text(json_body(response))
        failure = content_failure(self.spec.expect, text)
        if failure:
            raise CheckFailed(f"content check: answer {failure}")
        return None
