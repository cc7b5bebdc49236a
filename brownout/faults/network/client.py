"""toxiproxy-python with deadlines: every control call fails within seconds, naming the URL.

toxiproxy-python 0.1.1 keeps its server address in class attributes and calls
module-level `requests` without a timeout, so a hung Toxiproxy hangs the run
and two Toxiproxies cannot be used at once. This adapter keeps its own
`requests.Session` with a timeout per instance and goes through
toxiproxy-python's response check (`validate_response`), exceptions and
`Proxy`/`Toxic` classes, so the wire protocol stays the library's.
Errors become `error` (InjectError while injecting, RollbackError while
undoing), with the URL and Toxiproxy's own message.
"""

from __future__ import annotations

from typing import Any, Self

import requests
from toxiproxy.api import validate_response
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.proxy import Proxy
from toxiproxy.toxic import Toxic

from brownout.errors import BrownoutError, InjectError

__all__ = ["DEFAULT_TIMEOUT", "ToxiproxyAPI"]

DEFAULT_TIMEOUT = 5.0
"""Seconds for connecting and for each read of a control call."""


def _message(exc: Exception) -> str:
    raw = exc.args[0] if exc.args else ""
    return raw.decode(errors="replace").strip() if isinstance(raw, bytes) else str(raw)


class ToxiproxyAPI:
    """One Toxiproxy (or embedded proxy) REST API, e.g. `http://127.0.0.1:8474`."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, error: type[BrownoutError] = InjectError) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.error = error
        self._session = requests.Session()
        self._session.trust_env = False  # never route control calls through an HTTP(S)_PROXY

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None) -> requests.Response:
        where = f"Toxiproxy at {self.url}: {method} {path}"
        try:
            response = self._session.request(method, self.url + path, json=json, timeout=self.timeout)
            validate_response(response)
        except requests.Timeout as exc:
            raise self.error(f"{where}: no answer within {self.timeout:g}s (is Toxiproxy hung?)") from exc
        except requests.RequestException as exc:
            raise self.error(f"{where}: unreachable ({exc.__class__.__name__}: {exc})") from exc
        except (NotFound, ProxyExists, InvalidToxic) as exc:
            raise self.error(f"{where}: {_message(exc)}") from exc
        if response.status_code >= 400:
            raise self.error(f"{where}: HTTP {response.status_code}: {response.text.strip()[:300]}")
        return response

    def version(self) -> str:
        return self._call("GET", "/version").text.strip()

    def proxies(self) -> dict[str, Proxy]:
        return {name: Proxy(**values) for name, values in self._call("GET", "/proxies").json().items()}

    def find_proxy(self, name: str) -> Proxy | None:
        """The proxy, or None when this Toxiproxy has no proxy of that name."""
        return self.proxies().get(name)

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True) -> Proxy:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return Proxy(**self._call("POST", "/proxies", body).json())

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def set_enabled(self, name: str, enabled: bool, expires_at: float | None = None) -> Proxy:
        """Enable or disable a proxy; `expires_at` (epoch s) lets the embedded proxy undo a disable by itself."""
        body: dict[str, Any] = {"enabled": enabled}
        if expires_at is not None:
            body["brownout_expires_at"] = expires_at
        return Proxy(**self._call("POST", f"/proxies/{name}", body).json())

    def toxics(self, proxy: str) -> dict[str, Toxic]:
        return {t["name"]: Toxic(**t) for t in self._call("GET", f"/proxies/{proxy}/toxics").json()}

    def add_toxic(
        self, proxy: str, *, name: str, type: str, stream: str = "downstream",
        toxicity: float = 1.0, attributes: dict[str, Any] | None = None,
    ) -> Toxic:
        body = {"name": name, "type": type, "stream": stream, "toxicity": toxicity, "attributes": attributes or {}}
        return Toxic(**self._call("POST", f"/proxies/{proxy}/toxics", body).json())

    def remove_toxic(self, proxy: str, name: str) -> bool:
        """Remove a toxic; False when it (or its proxy) was already gone, which is fine for an undo."""
        try:
            self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")
        except self.error as exc:
            if isinstance(exc.__cause__, NotFound):
                return False
            raise
        return True

    def reset(self) -> None:
        self._call("POST", "/reset")

