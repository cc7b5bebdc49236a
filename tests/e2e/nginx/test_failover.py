"""Verdicts against a real third-party gateway: Debian's nginx in front of upstreams taken down through Toxiproxy.

The resilient nginx retries the next server on a refused connect (A, B, then backup C); the
fragile one knows only A. The faults are brownout's own `network.proxy-down` on the proxies in
front of A and B. Each verdict is checked against what nginx logged and the upstreams served.
One run per test (xdist spreads tests over workers, so tests sharing a run would each make it).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.e2e.nginx import specs
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


def answered(records: pd.DataFrame) -> pd.DataFrame:
    return records[records["outcome"].isin(["ok", "degraded"])]


def test_resilient_nginx_fails_over_when_upstream_a_is_down(runs: Runner, stack: Stack):
    run = a_down(runs, stack, "resilient", served_by=specs.HEADER_SERVED_BY)
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

    # outcome.served_by (the x-upstream-region header) scores the failover...
    failover = run.results["failovers"][0]
    assert failover["region"] == "us-east", failover
    assert failover["status"] in ("failed_over", "seamless"), failover
    assert isinstance(failover["value"], float) and math.isfinite(failover["value"]), failover
    # ...from who served each request as brownout recorded it, which is who really did.
    done = answered(records)
    assert (done["region"] == done["upstream"].map(REGION_OF)).all(), \
        done[["request_id", "region", "upstream"]].head(20).to_string()
    during = done[(done["t_send"] >= window["injected_at"]) & (done["t_send"] < window["rolled_back_at"])]
    assert len(during) and (during["region"] == "eu-west").mean() > 0, during[["request_id", "region"]]


def test_fragile_nginx_fails_availability_when_upstream_a_is_down(runs: Runner, stack: Stack):
    run = a_down(runs, stack, "fragile", served_by=None)
    assert run.verdict == "failed", run.explain()
    assert run.proc.returncode == run.results["exit_code"] == 1, run.explain()
    slo = run.slo("available-during-fault")
    assert slo["status"] == "fail" and slo["actual"] < 0.9, run.explain()
    assert_rolled_back(run, "upstream-a-down")
    records = assert_successes_were_served(run)
    assert run.served["b"]["received"] == run.served["c"]["received"] == 0, run.served
    # Each 502 nginx answered (A refused, nothing to retry) is one request brownout counts failed with a 502.
    refused = [line for line in run.access if line["status"] == 502]
    assert len(refused) >= 5, run.access
    assert len(refused) == int(((records["outcome"] == "failed") & (records["status"] == 502)).sum()), run.explain()
    window = run.fault("upstream-a-down")
    for line in refused:  # and nginx met A refusing only while brownout had it down
        started = line["msec"] - line["request_time"]
        assert window["injected_at"] - 0.5 <= started <= window["rolled_back_at"] + 0.5, (line, window)

    # This run has no outcome.served_by: nothing says who served, so no failover time can be
    # measured. Inconclusive, never "never" (although this gateway truly never fails over).
    failover = run.results["failovers"][0]
    assert failover["region"] == "us-east", failover
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
    # Every degraded answer is one the backup (model small) wrote, and every answer of C that reached
    # the client is counted degraded: the primary model is big.
    records = assert_successes_were_served(run)
    degraded = records[records["outcome"] == "degraded"]
    assert (degraded["upstream"] == "c").all() and (degraded["model"] == "small").all(), degraded.head(20).to_string()
    from_c = records[records["upstream"] == "c"]
    assert from_c["outcome"].isin(["degraded", "failed"]).all(), from_c.head(20).to_string()
    # nginx's log: whatever C answered, nginx had first tried both primaries and been refused.
    backup = f"127.0.0.1:{stack.c.port}"
    via_backup = [line for line in run.access if line["upstream_addr"].rsplit(",", 1)[-1].strip() == backup]
    assert len(via_backup) >= len(degraded), via_backup
    primaries = {f"127.0.0.1:{stack.toxiproxy.ports[p]}" for p in ("upstream-a", "upstream-b")}
    for line in via_backup:
        tried = [a.strip() for a in line["upstream_addr"].split(",")]
        assert set(tried[:-1]) == primaries and line["upstream_status"].startswith("502, 502"), line

    # outcome.served_by reads system_fingerprint (fp-<region>) and maps it to regions.
    done = answered(records)
    assert (done["served_by"] == "fp-" + done["upstream"].map(REGION_OF)).all(), \
        done[["request_id", "served_by", "upstream"]].head(20).to_string()
    assert (done["region"] == done["upstream"].map(REGION_OF)).all()
    failovers = {f["region"]: f for f in run.results["failovers"]}
    assert set(failovers) == {"us-east", "eu-west"}, failovers
    for failover in failovers.values():
        assert failover["status"] in ("failed_over", "seamless"), failover
        assert isinstance(failover["value"], float) and math.isfinite(failover["value"]), failover
