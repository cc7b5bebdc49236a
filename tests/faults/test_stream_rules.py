"""Pure parts of the stream proxy: SSE event splitting and token counting, rule choice and bursts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from brownout.faults.stream.bodies import wants_stream
from brownout.faults.stream.rules import RuleTable, StreamRule
from brownout.faults.stream.sse import EventSplitter, is_content_event, is_done_event

STREAM = (
    b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n'
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\r\n\r\n'
    b'data: {"choices":[{"delta":{"content":""}}]}\n\n'
    b'data: {"choices":[{"text":"lo"}]}\n\n'
    b'data: {"choices":[],"usage":{"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)


@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=12))
def test_events_are_the_same_however_the_bytes_are_chunked(cuts):
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    splitter = EventSplitter()
    events = [e for a, b in zip(bounds, bounds[1:]) for e in splitter.feed(STREAM[a:b])]
    assert b"".join(events) == STREAM and splitter.rest() == b""
    assert [is_content_event(e) for e in events] == [False, True, False, True, False, False]
    assert [is_done_event(e) for e in events] == [False] * 5 + [True]


def test_unterminated_tail_is_kept():
    splitter = EventSplitter()
    assert splitter.feed(b"data: x\n\ndata: partial") == [b"data: x\n\n"]
    assert splitter.rest() == b"data: partial"
    assert not is_content_event(b"data: not json\n\n") and not is_content_event(b": comment\n\n")


def test_rule_defaults_depend_on_mode():
    assert StreamRule(mode="cut", ttl=1).after_tokens == 1
    assert StreamRule(mode="error_body", ttl=1).after_tokens == 0
    rule = StreamRule(mode="unavailable", ttl=1, burst=2.0)
    assert rule.pause == 2.0 and StreamRule(mode="throttle", ttl=1, retry_after=0.2).retry_after_header == "1"
    assert [rule.in_burst(t) for t in (0.0, 1.9, 2.1, 3.9, 4.1)] == [True, True, False, False, True]
    assert StreamRule(mode="unavailable", ttl=1).in_burst(1e6)


def test_choice_is_seeded_per_rule_and_counts_what_it_sees():
    def picks(seed: int) -> list[bool]:
        table = RuleTable()
        table.put("a", StreamRule(mode="cut", share=0.3, ttl=10, seed=seed), now=0.0)
        return [table.choose("/v1/chat/completions", 1.0) is not None for _ in range(200)]

    assert picks(1) == picks(1) != picks(2)
    assert 30 <= sum(picks(1)) <= 90
    table = RuleTable()
    table.put("a", StreamRule(mode="cut", share=1.0, ttl=10), now=0.0)
    table.put("b", StreamRule(mode="throttle", share=1.0, ttl=100), now=0.0)
    assert table.choose("/health", 1.0) is None
    assert table.choose("/v1/chat/completions", 1.0).id == "a"
    assert table.choose("/v1/completions", 20.0).id == "b"        # a expired
    assert (table.get("a").seen, table.get("b").seen, table.get("b").affected) == (1, 2, 0)
    table.put("b", StreamRule(mode="throttle", share=1.0, ttl=100), now=30.0)
    assert table.get("b").seen == 2                                  # replacing keeps the counts


def test_wants_stream_reads_the_request_body():
    assert wants_stream(b'{"stream": true}') and not wants_stream(b'{"stream": false}')
    assert not wants_stream(b"") and not wants_stream(b"garbage")
