"""Sends two streamed requests with `exchange` while another greenlet blocks the process at the first yield.

Run: `python tests/loadgen/send_probe.py URL marks|nomarks`; prints one JSON line per
request with its t_send on this process's monotonic clock. A separate process
because importing Locust monkey-patches everything with gevent.
"""

from __future__ import annotations

import json
import sys

import gevent
from gevent.monkey import get_original
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment

from brownout.spec.objectives import OutcomeRules
from brownout.loadgen.datasets import Prompt
from brownout.loadgen.exchange import ExchangeSettings, exchange
from brownout.loadgen.payloads import build_request
from brownout.rundata.records import RequestRecord
from brownout.rundata.clock import RunClock
from brownout.loadgen.sendmark import SendMarks

HOG = 0.3  # seconds another greenlet holds the process, without yielding, at exchange's first yield
_blocking_sleep = get_original("time", "sleep")  # holds the hub without taking CPU from the server


def _hog() -> None:
    _blocking_sleep(HOG)


def main(url: str, marks: bool) -> None:
    clock = RunClock()
    wall, mono = clock.anchor
    session = FastHttpSession(url, Environment().events.request, None)
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity", "x-fake-tokens": "2"}
    settings = ExchangeSettings(clock, 10.0, OutcomeRules(), "fake-model", headers,
                                send_marks=SendMarks(session, url) if marks else None)
    spec = build_request("chat", Prompt("hi"), "fake-model", True, 0.0)
    for i in range(2):  # the first request connects; the second reuses the pooled connection
        rec = RequestRecord(f"probe{int(marks)}-{i}", "chat", "w0", None, None)
        gevent.spawn(_hog)
        exchange(session, spec, rec, settings)
        print(json.dumps({"id": rec.request_id, "outcome": rec.outcome, "send": rec.t_send - wall + mono}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "marks")
