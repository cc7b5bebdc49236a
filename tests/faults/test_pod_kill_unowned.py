"""`kubernetes.pod-kill` refuses pods no controller owns (they would never come back), unless `allow_unowned`."""

from __future__ import annotations

import pytest

from brownout.errors import RefusedError
from brownout.spec.faults.kubernetes import KubernetesPodKill
from brownout.faults.base import FaultContext
from brownout.faults.kubernetes import PodKillDriver
from tests.fakes.kube_api import FakeKubeApi, FakeKubeSettings

TOKEN_ENV = "BROWNOUT_TEST_KUBE_TOKEN"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(TOKEN_ENV, "t0ken")
    with FakeKubeApi(FakeKubeSettings(token="t0ken", recreate_delay=0.2, cold_start=0.2)) as api:
        api.add_node("n1", {})
        yield api


def _driver(fake: FakeKubeApi, **fields) -> PodKillDriver:
    spec = KubernetesPodKill(kind="kubernetes.pod-kill", name="kill", namespace="ml", label_selector="app=vllm",
                             api_url=fake.url, token_env=TOKEN_ENV, select={"mode": "all", "max_share": 1.0}, force=True, **fields)
    return PodKillDriver(spec, FaultContext(seed=3))


def _deletes(fake: FakeKubeApi) -> list[str]:
    return [r.path for r in fake.log if r.method == "DELETE"]


def test_bare_pods_are_refused_by_name_and_nothing_is_deleted(fake):
    fake.add_deployment("ml", "vllm", 1, {"app": "vllm"})
    fake.add_pod("ml", "bare-1", {"app": "vllm"}, "n1")
    fake.add_pod("ml", "agent-1", {"app": "vllm"}, "n1", owner_kind="DaemonSet")  # a controller: comes back
    with pytest.raises(RefusedError, match=r"'unowned-pods'.*pod\(s\) bare-1 in ml have no owning controller"):
        _driver(fake).resolve()
    with pytest.raises(RefusedError, match="bare-1"):
        _driver(fake).prepare()
    assert _deletes(fake) == []


def test_allow_unowned_deletes_them(fake):
    fake.add_pod("ml", "bare-1", {"app": "vllm"}, "n1")
    driver = _driver(fake, allow_unowned=True)
    result = driver.inject(driver.prepare())
    assert result["deleted"] == ["bare-1"] and _deletes(fake) == ["/api/v1/namespaces/ml/pods/bare-1"]
