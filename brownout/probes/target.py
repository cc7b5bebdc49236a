"""Where probes point, resolved by the caller (the runner) from the experiment's target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from brownout.http_options import HttpOptions
from brownout.rundata.clock import RunClock

__all__ = ["ProbeTarget"]


@dataclass(frozen=True)
class ProbeTarget:
    """The target's base URL and request headers, plus the clock results are stamped with.

    `headers` hold resolved secrets (the API key from the environment), so they are
    sent only to the target itself, never to a full URL of an HTTP probe or to Prometheus.
    """

    base_url: str
    clock: RunClock
    headers: Mapping[str, str] = field(default_factory=dict)
    model: str = "sandbox-large"          # chat/embeddings model when the probe names none
    http: HttpOptions = field(default_factory=HttpOptions)  # TLS and redirects, as the load uses them
    base_dir: Path = Path(".")            # the experiment file's directory: golden sets' paths are relative to it

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")
