"""LLM stream faults: a fault proxy in front of an OpenAI-compatible target, and its driver."""

from __future__ import annotations

from brownout.faults.stream.control import delete_rule, list_rules, put_rule
from brownout.faults.stream.driver import StreamFaultDriver, rule_from_spec
from brownout.faults.stream.launcher import StreamProxy, start_stream_proxy, stream_proxy_for
from brownout.faults.stream.rules import StreamRule

__all__ = [
    "StreamFaultDriver",
    "StreamProxy",
    "StreamRule",
    "delete_rule",
    "list_rules",
    "put_rule",
    "rule_from_spec",
    "start_stream_proxy",
    "stream_proxy_for",
]
