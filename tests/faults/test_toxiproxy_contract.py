"""The Toxiproxy 2.x REST contract brownout relies on: routes, status codes, JSON shapes, error bodies.

Runs against the embedded proxy always, and against a real Toxiproxy when
TOXIPROXY_URL is set, so the embedded proxy is held to the same checks.
Only API-level checks: the upstream (127.0.0.1:9) is never dialled.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brownout.faults.network import start_embedded_proxy

_UPSTREAM = "127.0.0.1:9"


@pytest.fixture(scope="module", params=["embedded", "real"])
def base_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "real":
        url = os.environ.get("TOXIPROXY_URL")
        if not url:
            pytest.skip("TOXIPROXY_URL is not set: no real Toxiproxy to check the contract against")
        yield url.rstrip("/")
        return
    with start_embedded_proxy(tmp_path_factory.mktemp("contract")) as proxy:
        yield proxy.url


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5.0, trust_env=False) as client:
        yield client


@pytest.fixture
def name(http: httpx.Client) -> Iterator[str]:
    proxy = f"contract-{uuid.uuid4().hex[:8]}"
    yield proxy
    http.delete(f"/proxies/{proxy}")


def _error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": message, "status": status}


def _create(http: httpx.Client, name: str, **extra: Any) -> dict[str, Any]:
    response = http.post("/proxies", json={"name": name, "upstream": _UPSTREAM, "listen": "127.0.0.1:0", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_version(http: httpx.Client) -> None:
    response = http.get("/version")
    assert response.status_code == 200
    assert response.json()["version"].startswith("2.")


def test_proxy_lifecycle(http: httpx.Client, name: str) -> None:
    created = _create(http, name)
    assert set(created) == {"name", "listen", "upstream", "enabled", "toxics"}
    assert (created["name"], created["upstream"], created["enabled"], created["toxics"]) == (name, _UPSTREAM, True, [])
    assert not created["listen"].endswith(":0")
    assert http.get("/proxies").json()[name] == created
    assert http.get(f"/proxies/{name}").json() == created
    _error(http.post("/proxies", json={"name": name, "upstream": _UPSTREAM}), 409, "proxy already exists")

    disabled = http.post(f"/proxies/{name}", json={"enabled": False})
    assert disabled.status_code == 200
    assert disabled.json() == {**created, "enabled": False}
    enabled = http.post(f"/proxies/{name}", json={"enabled": True}).json()
    assert enabled == created

    assert http.delete(f"/proxies/{name}").status_code == 204
    _error(http.get(f"/proxies/{name}"), 404, "proxy not found")
    _error(http.delete(f"/proxies/{name}"), 404, "proxy not found")


def test_disabled_proxy_refuses_connections(http: httpx.Client, name: str) -> None:
    listen = _create(http, name)["listen"]
    host, port = listen.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        pytest.skip(f"proxy listens on {listen}, not reachable as loopback from here")
    http.post(f"/proxies/{name}", json={"enabled": False})
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_create_errors(http: httpx.Client) -> None:
    _error(http.post("/proxies", json={"upstream": _UPSTREAM}), 400, "missing required field: name")
    _error(http.post("/proxies", json={"name": "contract-x"}), 400, "missing required field: upstream")
    assert http.post("/proxies", content=b"{not json").status_code == 400
    _error(http.get("/proxies/contract-nope/toxics"), 404, "proxy not found")


def test_toxic_lifecycle(http: httpx.Client, name: str) -> None:
    _create(http, name)
    base = f"/proxies/{name}/toxics"
    created = http.post(base, json={"type": "latency", "attributes": {"latency": 100, "jitter": 10}})
    assert created.status_code == 200, created.text
    toxic = created.json()
    assert toxic == {"name": "latency_downstream", "type": "latency", "stream": "downstream", "toxicity": 1.0,
                     "attributes": {"latency": 100, "jitter": 10}}
    _error(http.post(base, json={"type": "latency"}), 409, "toxic already exists")
    _error(http.post(base, json={"type": "nope", "name": "n"}), 400, "invalid toxic type")
    _error(http.post(base, json={"type": "latency", "stream": "sideways"}), 400,
           "stream was invalid, can be either upstream or downstream")

    up = http.post(base, json={"name": "lim", "type": "limit_data", "stream": "upstream", "toxicity": 0.5,
                               "attributes": {"bytes": 10}}).json()
    assert (up["stream"], up["toxicity"], up["attributes"]) == ("upstream", 0.5, {"bytes": 10})
    assert [t["name"] for t in http.get(base).json()] == ["lim", "latency_downstream"]
    assert http.get(f"/proxies/{name}").json()["toxics"] == http.get(base).json()

    updated = http.post(f"{base}/latency_downstream", json={"attributes": {"latency": 300}})
    assert updated.status_code == 200
    assert updated.json()["attributes"] == {"latency": 300, "jitter": 10}
    assert http.get(f"{base}/latency_downstream").json() == updated.json()

    assert http.delete(f"{base}/latency_downstream").status_code == 204
    _error(http.get(f"{base}/latency_downstream"), 404, "toxic not found")
    _error(http.delete(f"{base}/latency_downstream"), 404, "toxic not found")


def test_every_toxic_type_brownout_uses_is_accepted(http: httpx.Client, name: str) -> None:
    _create(http, name)
    attributes = {
        "latency": {"latency": 1, "jitter": 0},
        "bandwidth": {"rate": 100},
        "slow_close": {"delay": 1},
        "timeout": {"timeout": 0},
        "reset_peer": {"timeout": 0},
        "slicer": {"average_size": 10, "size_variation": 1, "delay": 0},
        "limit_data": {"bytes": 10},
    }
    for kind, attrs in attributes.items():
        response = http.post(f"/proxies/{name}/toxics", json={"name": kind, "type": kind, "attributes": attrs})
        assert response.status_code == 200, (kind, response.text)
        assert response.json()["attributes"] == attrs


def test_unknown_attributes_are_accepted(http: httpx.Client, name: str) -> None:
    """brownout's expiry attribute must not break a real Toxiproxy (which ignores it)."""
    _create(http, name)
    response = http.post(f"/proxies/{name}/toxics",
                         json={"type": "latency", "attributes": {"latency": 5, "brownout_expires_at": 4102444800}})
    assert response.status_code == 200, response.text
    assert response.json()["attributes"]["latency"] == 5
    assert http.post(f"/proxies/{name}", json={"enabled": False, "brownout_expires_at": 4102444800}).status_code == 200


def test_populate_and_reset(http: httpx.Client, name: str) -> None:
    response = http.post("/populate", json=[{"name": name, "upstream": _UPSTREAM, "listen": "127.0.0.1:0", "enabled": False}])
    assert response.status_code == 201, response.text
    (populated,) = response.json()["proxies"]
    assert (populated["name"], populated["enabled"]) == (name, False)
    assert http.post("/populate", json=[{"upstream": _UPSTREAM}]).status_code == 400

    http.post(f"/proxies/{name}/toxics", json={"type": "latency", "attributes": {"latency": 5}})
    assert http.post("/reset").status_code == 204
    after = http.get(f"/proxies/{name}").json()
    assert (after["enabled"], after["toxics"]) == (True, [])
