"""Probes treat TLS and redirects as the load does (one HttpOptions): against the hostile server, plain and HTTPS."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from brownout.spec.probes import Probe
from brownout.http_options import HttpOptions
from brownout.rundata.clock import RunClock
from brownout.probes.runner import ProbeRunner
from brownout.probes.target import ProbeTarget
from tests.loadgen.hostile_server import hostile_server, make_certificate

PROBE = TypeAdapter(Probe)


def _once(url: str, path: str, http: HttpOptions, tmp_path):
    spec = PROBE.validate_python({"kind": "http", "name": "health", "path": path, "timeout": 3.0})
    target = ProbeTarget(base_url=url, clock=RunClock(), http=http)
    return ProbeRunner([spec], target, tmp_path / "probes.jsonl").run_once("health")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
    with hostile_server() as plain, hostile_server((cert, key)) as tls:
        yield plain, tls, cert


def test_certificate_failure_has_its_own_reason_and_a_ca_bundle_fixes_it(servers, tmp_path):
    _, tls, cert = servers
    failed = _once(tls.url, "/health", HttpOptions(), tmp_path)
    assert not failed.ok and failed.reason.startswith("tls_certificate:"), failed.reason
    assert _once(tls.url, "/health", HttpOptions(ca_bundle=str(cert)), tmp_path).ok
    assert _once(tls.url, "/health", HttpOptions(verify_tls=False), tmp_path).ok


def test_redirects_are_named_unless_followed(servers, tmp_path):
    plain, _, _ = servers
    refused = _once(plain.url, "/moved", HttpOptions(), tmp_path)
    assert not refused.ok
    assert refused.reason == "redirect: status 307 to /health (follow_redirects is off)"
    assert _once(plain.url, "/moved", HttpOptions(follow_redirects=True), tmp_path).ok
