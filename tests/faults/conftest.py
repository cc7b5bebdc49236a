"""Fixtures shared by the network-fault tests: the embedded proxy, an upstream, an API client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brownout.faults.network.client import ToxiproxyAPI
from brownout.faults.network.embedded import EmbeddedProxy, start_embedded_proxy
from brownout.processes import pid_alive
from tests.faults.network_support import upstream_server


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedProxy]:
    proxy = start_embedded_proxy(tmp_path_factory.mktemp("proxy"))
    try:
        yield proxy
    finally:
        proxy.stop()
    assert not pid_alive(proxy.pid)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with upstream_server() as address:
        yield address


@pytest.fixture
def api(embedded: EmbeddedProxy) -> Iterator[ToxiproxyAPI]:
    with ToxiproxyAPI(embedded.url) as client:
        yield client
