from __future__ import annotations

import pytest

from brownout.rundata.clock import RunClock
from brownout.probes.target import ProbeTarget
from tests.probes.fake_ai import Behaviour, FakeAI


@pytest.fixture(scope="module")
def fake_ai_server():
    server = FakeAI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_ai(fake_ai_server: FakeAI) -> FakeAI:
    """The module's server with default behaviour and an empty request log."""
    fake_ai_server.behaviour = Behaviour()
    fake_ai_server.seen.clear()
    return fake_ai_server


@pytest.fixture
def target(fake_ai: FakeAI) -> ProbeTarget:
    return ProbeTarget(base_url=fake_ai.url, clock=RunClock(), headers={"Authorization": "Bearer sk-test"}, model="m")
