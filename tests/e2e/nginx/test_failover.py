"""Verdicts against a real third-party gateway: Debian's nginx in front of upstreams taken down through Toxiproxy.

The resilient nginx retries the next server on a refused connect (A, B, then backup C); the
fragile one knows only A. The faults are brownout's own `network.proxy-down` on the proxies in
front of A and B. Each verdict is checked against what nginx logged and the upstreams served.
"""

from __future__ import annotations

import math

import pytest

from tests.e2e.nginx.checks import (
    assert_rolled_back,
    assert_successes_were_served,
    retried_away_from,
)
from tests.e2e.nginx.runs import Runner
from tests.e2e.nginx.scenarios import a_down, both_down
from tests.e2e.nginx.stack import Stack

pytestmark = pytest.mark.slow

REGION_OF = {"a": "us-east", "b": "eu-west", "c": "backup"}


def test_resilient_nginx_passes_with_upstream_a_down(runs: Runner, stack: Stack):
    run = a_down(runs, stack, "resilient")
    assert run.proc.returncode == run.results["exit_code"], run.explain()
    assert run.verdict in ("passed", "inconclusive"), run.explain()
    slo = run.slo("available-during-fault")
    assert slo["status"] == "pass" and slo["actual"] >= 0.9, run.explain()
    assert run.phase("fault")["requests"] >= 20, run.explain()
    assert_rolled_back(run, "upstream-a-down")
    # nginx's own log: requests refused by A's proxy and answered by B, and only while A was down.
    window = run.fault("upstream-a-down")
    retried = retried_away_from(run, stack, "upstream-a")
    assert retried, f"nginx never failed over from A: {run.access}"
    for line in retried:
        started = line["msec"] - line["request_time"]
        assert window["injected_at"] - 0.5 <= started <= window["rolled_back_at"] + 0.5, (line, window)
    # The upstreams' own counts: every answer brownout counts was written by one of them; B took A's share.
    records = assert_successes_were_served(run)
    assert run.served["b"]["completed"] > run.served["a"]["completed"], run.served
    assert run.served["c"]["received"] == 0, "the backup answered although B was up"
    assert (records.loc[records["outcome"] == "ok", "upstream"].isin(["a", "b"])).all()


def test_fragile_nginx_fails_availability_with_upstream_a_down(runs: Runner, stack: Stack):
    run = a_down(runs, stack, "fragile")
    assert run.verdict == "failed", run.explain()
    assert run.proc.returncode == run.results["exit_code"] == 1, run.explain()
    slo = run.slo("available-during-fault")
    assert slo["status"] == "fail" and slo["actual"] < 0.9, run.explain()
    assert_rolled_back(run, "upstream-a-down")
    records = assert_successes_were_served(run)
    assert run.served["b"]["received"] == run.served["c"]["received"] == 0, run.served
    # Each 502 nginx answered (A refused, nothing to retry) is one request brownout counts failed with a 502.
    gateway_502 = sum(1 for line in run.access if line["status"] == 502)
    assert gateway_502 >= 5, run.access
    assert gateway_502 == int(((records["outcome"] == "failed") & (records["status"] == 502)).sum()), run.explain()


def test_served_by_header_gives_a_failover_time(runs: Runner, stack: Stack):
    run = a_down(runs, stack, "resilient")
    assert run.results["failovers"], run.explain()
    failover = run.results["failovers"][0]
    assert failover["region"] == "us-east", failover
    assert failover["status"] in ("failed_over", "seamless"), failover
    assert isinstance(failover["value"], float) and math.isfinite(failover["value"]), failover
    # Who served each request, as brownout recorded it from x-upstream-region, is who really did.
    records = assert_successes_were_served(run)
    answered = records[records["outcome"].isin(["ok", "degraded"])]
    assert (answered["region"] == answered["upstream"].map(REGION_OF)).all(), \
        answered[["request_id", "region", "upstream"]].head(20).to_string()
    window = run.fault("upstream-a-down")
    during = answered[(answered["t_send"] >= window["injected_at"]) & (answered["t_send"] < window["rolled_back_at"])]
    assert len(during) and (during["region"] == "eu-west").mean() > 0, during[["request_id", "region"]]


def test_failover_is_inconclusive_without_served_by(runs: Runner, stack: Stack):
    run = a_down(runs, stack, "resilient", served_by=None)
    assert run.verdict in ("passed", "inconclusive"), run.explain()
    assert run.slo("available-during-fault")["status"] == "pass", run.explain()
    failover = run.results["failovers"][0]
    # Nothing says who served, so no time can be measured: inconclusive, never "never".
    assert failover["status"] == "inconclusive", failover
    assert failover["value"] is None, failover


def test_backup_answers_count_degraded_when_both_primaries_are_down(runs: Runner, stack: Stack):
    run = both_down(runs, stack)
    assert run.proc.returncode == run.results["exit_code"], run.explain()
    assert run.verdict in ("passed", "inconclusive"), run.explain()
    for name in ("available-during-fault", "fallback-answered", "primaries-again"):
        assert run.slo(name)["status"] == "pass", run.explain()
    fault = run.phase("fault")
    assert fault["degraded_rate"] > 0 and fault["degraded"] > 0, fault
    assert fault["success_rate"] >= 0.9, fault
    assert_rolled_back(run, "upstream-a-down", "upstream-b-down")
    # Every degraded answer is one the backup (model small) wrote, and every answer C wrote that
    # reached the client is counted degraded: the primary model is big.
    records = assert_successes_were_served(run)
    degraded = records[records["outcome"] == "degraded"]
    assert (degraded["upstream"] == "c").all() and (degraded["model"] == "small").all(), degraded.head(20).to_string()
    from_c = records[records["upstream"] == "c"]
    assert from_c["outcome"].isin(["degraded", "failed"]).all(), from_c.head(20).to_string()
    assert len(degraded) >= fault["degraded"]
    # nginx tried both primaries before the backup.
    assert retried_away_from(run, stack, "upstream-a") or retried_away_from(run, stack, "upstream-b")


def test_served_by_field_maps_fingerprints_to_regions(runs: Runner, stack: Stack):
    run = both_down(runs, stack)
    records = assert_successes_were_served(run)
    answered = records[records["outcome"].isin(["ok", "degraded"])]
    # system_fingerprint fp-<region> mapped through outcome.served_by.regions.
    assert (answered["served_by"] == "fp-" + answered["upstream"].map(REGION_OF)).all(), \
        answered[["request_id", "served_by", "upstream"]].head(20).to_string()
    assert (answered["region"] == answered["upstream"].map(REGION_OF)).all()
    failovers = {f["region"]: f for f in run.results["failovers"]}
    assert set(failovers) == {"us-east", "eu-west"}, failovers
    for failover in failovers.values():
        assert failover["status"] in ("failed_over", "seamless"), failover
        assert isinstance(failover["value"], float) and math.isfinite(failover["value"]), failover
