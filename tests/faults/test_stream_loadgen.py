"""Each stream fault lands in the load generator's intended error class.

The load side runs in its own process (Locust monkey-patches everything it
imports into), sending one real request through the proxy per line it reads
from stdin and printing the record's verdict as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from brownout.faults.stream import StreamRule, delete_rule, put_rule
from tests.faults.test_stream_proxy import proxy, upstream  # noqa: F401  (fixtures)

TIMEOUT = 1.5

_LOAD = """
import json, sys
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook
from brownout.spec.objectives import OutcomeRules
from brownout.loadgen.exchange import ExchangeSettings, exchange
from brownout.loadgen.payloads import RequestSpec
from brownout.rundata.records import RequestRecord
from brownout.rundata.clock import RunClock

session = FastHttpSession(sys.argv[1], EventHook(), None)
settings = ExchangeSettings(clock=RunClock(), timeout=float(sys.argv[2]), rules=OutcomeRules(), primary_model="m")
body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
        "stream_options": {"include_usage": True}}
spec = RequestSpec("chat", "/v1/chat/completions", body, True)
for n, _ in enumerate(sys.stdin):
    rec = RequestRecord(request_id=str(n), kind="chat", worker="w", t_sched=None, t_send=None)
    exchange(session, spec, rec, settings)
    print(json.dumps({"outcome": rec.outcome, "error_class": rec.error_class, "error": rec.error}), flush=True)
"""


@pytest.fixture(scope="module")
def load(proxy):  # noqa: F811
    process = subprocess.Popen(
        [sys.executable, "-c", _LOAD, proxy.url, str(TIMEOUT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        process.stdin.close()
        process.wait(timeout=10)
        process.stdout.close()


def one_request(load) -> dict:
    load.stdin.write("go\n")
    load.stdin.flush()
    return json.loads(load.stdout.readline())


@pytest.mark.parametrize(
    "rule, outcome, error_class",
    [
        (None, "ok", None),
        ({"mode": "cut", "after_tokens": 3}, "failed", "stream_cut"),
        ({"mode": "throttle"}, "failed", "throttled"),
        ({"mode": "unavailable"}, "failed", "http_5xx"),
        ({"mode": "error_body"}, "failed", "error_body"),
        ({"mode": "error_body", "after_tokens": 2}, "failed", "error_body"),
        ({"mode": "stall", "after_tokens": 2, "stall": 3 * TIMEOUT}, "failed", "timeout"),
        ({"mode": "slow", "slowdown": 2.0}, "ok", None),
    ],
)
def test_load_generator_classifies_each_mode(proxy, load, rule, outcome, error_class):  # noqa: F811
    if rule is not None:
        put_rule(proxy.control_url, "classify", StreamRule(ttl=30.0, **rule))
    try:
        verdict = one_request(load)
    finally:
        delete_rule(proxy.control_url, "classify")
    assert (verdict["outcome"], verdict["error_class"]) == (outcome, error_class), verdict
