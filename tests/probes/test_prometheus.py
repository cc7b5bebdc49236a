"""The Prometheus probe and the PromQL stop condition against a real Prometheus server."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import TypeAdapter

from brownout.experiments.guards import build_triggers
from brownout.spec.guards import Guard
from brownout.spec.probes import PrometheusProbe
from brownout.rundata.clock import RunClock
from brownout.probes.prometheus import PrometheusCheck
from brownout.rundata.probes import ProbeResult
from brownout.probes.target import ProbeTarget
from brownout.processes import free_port
from tests.probes.prom_server import (
    PrometheusServer,
    find_or_install_prometheus,
    start_prometheus,
)

GUARD = TypeAdapter(Guard)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory) -> PrometheusServer:
    binary = find_or_install_prometheus()
    if binary is None:
        pytest.skip("no prometheus binary and it could not be installed (apt-get install prometheus needs root)")
    server = start_prometheus(binary, tmp_path_factory.mktemp("prometheus"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def value_5(prometheus: PrometheusServer) -> PrometheusServer:
    prometheus.exporter.value = 5.0
    prometheus.wait_for("brownout_test_value", 5.0)
    return prometheus


def run(url: str, query: str, op: str, threshold: float) -> ProbeResult:
    spec = PrometheusProbe(name="prom", kind="prometheus", url=url, query=query, op=op, threshold=threshold, timeout=3.0)
    target = ProbeTarget(base_url="http://127.0.0.1:9", clock=RunClock())  # the target itself is never asked

    async def once() -> ProbeResult:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await PrometheusCheck(spec).run(client, target)

    return asyncio.run(once())


def test_threshold_passes(value_5):
    result = run(value_5.url, "brownout_test_value", ">", 3)
    assert (result.ok, result.reason, result.value) == (True, "ok", 5.0)


def test_scalar_result(value_5):
    assert run(value_5.url, "scalar(brownout_test_value) * 2", "==", 10).value == 10.0


def test_threshold_fails(value_5):
    result = run(value_5.url, "brownout_test_value", "<", 3)
    assert (result.ok, result.reason, result.value) == (False, "value 5 < 3 does not hold", 5.0)


def test_no_data(prometheus):
    result = run(prometheus.url, 'brownout_test_value{job="nope"}', ">", 0)
    assert (result.ok, result.reason) == (False, "no data")


def test_bad_query_fails_with_prometheus_error(prometheus):
    result = run(prometheus.url, "sum(", ">", 0)
    assert not result.ok and result.reason.startswith("status 400: query error: bad_data"), result.reason


def test_server_down():
    result = run(f"http://127.0.0.1:{free_port()}", "up", ">", 0)
    assert (result.ok, result.reason, result.latency) == (False, "connection refused", None)


def promql_guard(url: str, op: str, threshold: float, hold: float):
    spec = GUARD.validate_python(
        {"kind": "promql", "name": "hot", "url": url, "query": "brownout_test_value", "op": op,
         "threshold": threshold, "for": hold, "interval": 0.0}
    )
    return build_triggers([spec])[0]


def test_promql_guard_fires_after_for(value_5):
    guard = promql_guard(value_5.url, ">", 4, hold=2.0)
    for now in (100.0, 101.0):
        guard.update(now, [], [])
        assert guard.fired is None
    guard.update(102.0, [], [])
    assert guard.fired is not None
    assert (guard.fired.name, guard.fired.t) == ("hot", 102.0)
    assert guard.fired.reason == "brownout_test_value = 5 > 4 for 2.0s"
    guard.reset()
    assert guard.fired is None


def test_promql_guard_streak_breaks_when_condition_clears(prometheus):
    guard = promql_guard(prometheus.url, ">", 4, hold=1.0)
    prometheus.exporter.value = 5.0
    prometheus.wait_for("brownout_test_value", 5.0)
    guard.update(10.0, [], [])
    prometheus.exporter.value = 1.0
    prometheus.wait_for("brownout_test_value", 1.0)
    guard.update(11.0, [], [])
    assert guard.fired is None
    prometheus.exporter.value = 5.0
    prometheus.wait_for("brownout_test_value", 5.0)
    guard.update(12.0, [], [])
    assert guard.fired is None  # the streak restarted at 12.0
    guard.update(13.0, [], [])
    assert guard.fired is not None and guard.fired.t == 13.0


def test_promql_guard_never_fires_when_prometheus_is_down():
    guard = promql_guard(f"http://127.0.0.1:{free_port()}", ">=", 0, hold=0.0)
    guard.update(1.0, [], [])
    assert guard.fired is None
    assert guard.last_error == "connection refused"
