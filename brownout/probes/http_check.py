"""Plain HTTP probe: status, latency budget and body text of a health-style endpoint."""

from __future__ import annotations

import httpx

from brownout.spec.probes import HttpProbe
from brownout.probes.base import CheckFailed, ProbeCheck, expect_status
from brownout.probes.target import ProbeTarget

__all__ = ["HttpCheck"]


class HttpCheck(ProbeCheck[HttpProbe]):
    kind = "http"

    def latency_budget(self) -> float | None:
        return self.spec.latency_budget

    async def check(self, client: httpx.AsyncClient, target: ProbeTarget) -> float | None:
        path = self.spec.path
        if path.startswith("/"):
            url, headers = target.url(path), dict(target.headers)
        else:
            url, headers = path, {}  # another host: the target's API key stays home
        response = await client.get(url, headers=headers, timeout=self.timeout)
        expect_status(response, self.spec.status)
        if self.spec.body_contains is not None and self.spec.body_contains not in response.text:
            raise CheckFailed(f"body does not contain {self.spec.body_contains!r}")
        return None
