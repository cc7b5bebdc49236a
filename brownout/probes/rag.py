"""RAG probe: a question whose answer must cite an expected document and/or pass a content check."""

from __future__ import annotations

import httpx

from brownout.spec.probes import RagProbe
from brownout.probes.base import CheckFailed, ProbeCheck, expect_status, json_body
from brownout.spec.checks import content_failure
from brownout.probes.target import ProbeTarget

__all__ = ["RagCheck"]


class RagCheck(ProbeCheck[RagProbe]):
    kind = "rag"

    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        response = await client.post(
            target.url(self.spec.path), json={"question": self.spec.question}, headers=dict(target.headers), timeout=self.timeout
        )
        expect_status(response)
        body = json_body(response)
        if not isinstance(body, dict):
            raise CheckFailed("malformed response: not a JSON object")
        value = None
        if self.spec.expect_source is not None:
            sources = body.get("sources")
            if not isinstance(sources, list):
                raise CheckFailed("malformed response: no sources list")
            by_id = {s.get("id"): s for s in sources if isinstance(s, dict)}
            if self.spec.expect_source not in by_id:
                listed = ", ".join(str(i) for i in by_id) or "none"
                raise CheckFailed(f"source check: {self.spec.expect_source!r} not among sources [{listed}]")
            score = by_id[self.spec.expect_source].get("score")
            value = float(score) if isinstance(score, (int, float)) else None
        if self.spec.expect is not None:
            answer = body.get("answer")
            if not isinstance(answer, str):
                raise CheckFailed("malformed response: no answer text")
            failure = content_failure(self.spec.expect, answer)
            if failure:
                raise CheckFailed(f"content check: answer {failure}", value)
        return value
