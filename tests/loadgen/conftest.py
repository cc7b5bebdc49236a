"""Fixtures: the fake LLM server as a real process on loopback, and plans aimed at it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from brownout.spec.load import Load
from brownout.spec.objectives import OutcomeRules
from brownout.loadgen import LoadPlan
from brownout.rundata.clock import RunClock
from tests.e2e.conftest import brownout_env  # the e2e fixture, for the one full run in test_hostile.py
from tests.loadgen.support import serve

__all__ = ["brownout_env"]

SERVER = Path(__file__).with_name("fake_llm.py")


class FakeServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=5) as resp:
            return json.load(resp)

    def bodies(self) -> dict[str, dict]:
        """Recent request bodies by request id."""
        with urllib.request.urlopen(self.url + "/bodies", timeout=5) as resp:
            return {row["id"]: row["body"] for row in json.load(resp)}


@pytest.fixture(scope="module")
def fake_server():
    with serve(SERVER) as port:
        yield FakeServer(port)


@pytest.fixture
def make_plan(tmp_path):
    """make_plan(base_url, load_dict, duration=1.0, headers=None, **outcome) -> LoadPlan starting `lead` s from now (the subprocess needs ~1-2 s to import Locust)."""

    def make(base_url: str, load: dict, duration: float = 1.0, headers: dict | None = None, lead: float = 2.0, **outcome) -> LoadPlan:
        start = RunClock().now() + lead
        return LoadPlan(
            base_url=base_url,
            load=Load.model_validate(load),
            model="fake-model",
            outcome=OutcomeRules(**outcome),
            start_at=start,
            end_at=start + duration,
            out_dir=tmp_path / "load",
            base_dir=tmp_path,
            headers=headers or {},
        )

    return make
