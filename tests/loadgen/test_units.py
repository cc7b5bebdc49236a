"""Pure parts of loadgen: timers, datasets, payloads, SSE parsing, outcome rules, plan, tail, collector."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import statistics
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brownout.errors import LoadError, SpecErrors
from brownout.experiments.loading import load_experiment_text
from brownout.spec.load import (
    JsonlDataset,
    Load,
    RequestTemplate,
    ShareGPTDataset,
    SyntheticDataset,
    TokenLength,
)
from brownout.spec.objectives import OutcomeRules
from brownout.loadgen import LoadPlan
from brownout.rundata.records import RecordWriter, RequestRecord
from brownout.loadgen.datasets import Prompt, load_prompts, sample_length
from brownout.loadgen.outcome import (
    classify,
    degraded_header,
    status_class,
    transport_error_class,
)
from brownout.loadgen.payloads import build_request
from brownout.loadgen.progress import Collector
from brownout.loadgen.responses import Reply, StreamParser, parse_body
from brownout.loadgen.schedule import ConstantTimer, PoissonTimer, share, split_count
from brownout.loadgen.tail import JsonlTail

RULES = OutcomeRules()


# --- timers -------------------------------------------------------------------------------

def test_constant_timer_is_evenly_spaced():
    times = list(itertools.islice(ConstantTimer(4).times(100.0), 5))
    assert times == [100.0, 100.25, 100.5, 100.75, 101.0]
    assert str(ConstantTimer(5)) == "constant@5.00/s"


@pytest.mark.parametrize("burstiness", [1.0, 0.25])
def test_poisson_timer_mean_rate_and_seed(burstiness):
    timer = PoissonTimer(50, burstiness, seed=3)
    times = list(itertools.islice(timer.times(0.0), 20000))
    assert times == list(itertools.islice(PoissonTimer(50, burstiness, seed=3).times(0.0), 20000))
    assert times != list(itertools.islice(PoissonTimer(50, burstiness, seed=4).times(0.0), 20000))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert statistics.mean(gaps) == pytest.approx(1 / 50, rel=0.05)
    cv = statistics.stdev(gaps) / statistics.mean(gaps)
    assert cv == pytest.approx(1 / burstiness**0.5, rel=0.1)  # gamma shape k: cv = 1/sqrt(k)
    assert str(timer) == "poisson@50.00/s"


@given(st.integers(1, 200), st.integers(1, 9))
def test_worker_shares_partition_the_schedule(total, workers):
    parts = [list(share(iter(range(total)), i, workers)) for i in range(workers)]
    assert sorted(k for part in parts for k, _ in part) == list(range(total))
    assert sum(split_count(total, i, workers) for i in range(workers)) == total


# --- datasets and payloads ----------------------------------------------------------------

@settings(max_examples=200)
@given(st.sampled_from(["fixed", "uniform", "normal", "lognormal"]), st.floats(1, 5000), st.floats(0, 3000), st.integers(0, 2**31))
def test_sample_length_stays_in_clamps(dist, mean, stddev, seed):
    spec = TokenLength(dist=dist, mean=mean, stddev=stddev, min=5, max=900)
    assert 5 <= sample_length(spec, random.Random(seed)) <= 900


def test_lognormal_has_the_asked_mean():
    spec = TokenLength(dist="lognormal", mean=200, stddev=100, min=1, max=100000)
    rng = random.Random(1)
    assert statistics.mean(sample_length(spec, rng) for _ in range(20000)) == pytest.approx(200, rel=0.03)


def test_synthetic_prompts_are_deterministic_and_sized(tmp_path):
    ds = SyntheticDataset(input_tokens=TokenLength(mean=40), output_tokens=TokenLength(dist="uniform", mean=20, stddev=10))
    a, b = load_prompts(ds, tmp_path, 5), load_prompts(ds, tmp_path, 5)
    assert a == b and a != load_prompts(ds, tmp_path, 6)
    assert all(len(p.text.split()) == 40 and 10 <= p.max_tokens <= 30 for p in a)


def test_jsonl_and_sharegpt_datasets(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"prompt": "hi", "max_tokens": 7}\n\n{"messages": [{"role": "user", "content": "yo"}]}\n')
    prompts = load_prompts(JsonlDataset(kind="jsonl", path="p.jsonl"), tmp_path, 0)
    assert [(p.text, p.max_tokens) for p in prompts] == [("hi", 7), ("yo", None)]
    assert build_request("chat", prompts[1], "m", True, 0.0).body["messages"] == [{"role": "user", "content": "yo"}]
    conv = [{"conversations": [{"from": "human", "value": "q?"}, {"from": "gpt", "value": "one two three"}]},
            {"conversations": [{"from": "gpt", "value": "skipped"}]}]
    (tmp_path / "s.json").write_text(json.dumps(conv))
    prompts = load_prompts(ShareGPTDataset(kind="sharegpt", path="s.json"), tmp_path, 0)
    assert [(p.text, p.max_tokens) for p in prompts] == [("q?", 4)]


def test_bad_dataset_names_file_and_line(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"prompt": "ok"}\n{"nope": 1}\n')
    with pytest.raises(LoadError, match=r"p.jsonl:2: expected 'prompt'"):
        load_prompts(JsonlDataset(kind="jsonl", path="p.jsonl"), tmp_path, 0)
    with pytest.raises(LoadError, match="missing.jsonl"):
        load_prompts(JsonlDataset(kind="jsonl", path="missing.jsonl"), tmp_path, 0)


def test_streaming_payload_asks_for_usage():
    spec = build_request("chat", Prompt("hello", max_tokens=9), "m", True, 0.7)
    assert spec.path == "/v1/chat/completions" and spec.stream
    assert spec.body == {"model": "m", "temperature": 0.7, "stream": True, "messages": [{"role": "user", "content": "hello"}],
                         "max_tokens": 9, "stream_options": {"include_usage": True}}
    assert build_request("rag", Prompt("q"), "m", True, 0).body == {"question": "q"}
    assert not build_request("embeddings", Prompt("q"), "m", True, 0).stream


# --- SSE and bodies -------------------------------------------------------------------------

def _sse(parser: StreamParser, events: list[tuple[float, object]]) -> Reply:
    for t, ev in events:
        line = ev if isinstance(ev, bytes) else b"data: " + json.dumps(ev).encode()
        parser.feed(line + b"\n", t)
        parser.feed(b"\n", t)
    return parser.reply


def test_stream_times_content_events_only():
    reply = _sse(StreamParser("chat"), [
        (1.0, {"model": "m", "choices": [{"delta": {"role": "assistant"}}]}),
        (1.5, {"choices": [{"delta": {"content": ""}}]}),
        (2.0, {"choices": [{"delta": {"content": "a"}}]}),
        (2.25, {"choices": [{"delta": {"content": "b"}}]}),
        (2.75, {"choices": [{"delta": {"content": "c"}}]}),
        (3.0, {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 3}}),
        (3.1, b": keep-alive comment"),
        (3.2, b"data: [DONE]"),
    ])
    assert (reply.t_first, reply.t_last, reply.itl, reply.content_events) == (2.0, 2.75, [0.25, 0.5], 3)
    assert (reply.input_tokens, reply.output_tokens, reply.model, reply.done) == (4, 3, "m", True)


def test_stream_failures():
    assert _sse(StreamParser("completions"), [(1, b"data: {oops")]).malformed
    assert _sse(StreamParser("chat"), [(1, b"<html>")]).malformed
    reply = _sse(StreamParser("chat"), [(1, {"error": {"message": "overloaded"}})])
    assert reply.error_body == "overloaded" and reply.content_events == 0


def test_bodies():
    assert parse_body("chat", b'{"model":"m","choices":[{"message":{"content":"hi"}}],"usage":{"completion_tokens":1}}').content_events == 1
    assert parse_body("embeddings", b'{"data":[{"embedding":[]}]}').content_events == 0
    rag = parse_body("rag", b'{"answer":"a","sources":[],"retrieval":"keyword","region":"eu"}', served_by="region")
    assert (rag.retrieval, rag.served_by, rag.content_events) == ("keyword", "eu", 1)
    assert parse_body("rag", b'{"answer":"a","region":"eu"}').served_by is None  # only the field the experiment names


def test_served_by_field_is_read_from_any_stream_event_and_nested_bodies():
    parser = StreamParser("chat", served_by="system_fingerprint")
    parser.feed(b'data: {"choices":[{"delta":{"role":"assistant"}}]}', 1.0)
    parser.feed(b'data: {"system_fingerprint":"fp-eu","choices":[{"delta":{"content":"hi"}}]}', 1.1)
    parser.feed(b"data: [DONE]", 1.2)
    assert parser.reply.served_by == "fp-eu"
    nested = parse_body("chat", b'{"meta":{"deployment":{"id":7}},"choices":[{"message":{"content":"x"}}]}',
                        served_by="meta.deployment.id")
    assert nested.served_by == "7"
    assert parse_body("chat", b"not json").malformed


# --- outcome ---------------------------------------------------------------------------------

def _ok_reply(**kw) -> Reply:
    base = dict(streamed=True, done=True, content_events=5, t_first=1.0, t_last=2.0, model="m", output_tokens=5)
    base.update(kw)
    return Reply(**base)


@pytest.mark.parametrize("reply, expected", [
    (_ok_reply(), ("ok", None)),
    (_ok_reply(malformed="x"), ("failed", "malformed_sse")),
    (_ok_reply(error_body="x"), ("failed", "error_body")),
    (_ok_reply(done=False), ("failed", "stream_cut")),
    (_ok_reply(content_events=0, output_tokens=0), ("failed", "empty_completion")),
    (_ok_reply(content_events=0, output_tokens=None), ("failed", "empty_completion")),
    (_ok_reply(model="other"), ("degraded", None)),
    (_ok_reply(retrieval="keyword"), ("degraded", None)),
])
def test_classify(reply, expected):
    verdict = classify("chat", reply, rules=RULES, primary_model="m")
    assert (verdict.outcome, verdict.error_class) == expected


def test_degradation_rules_from_outcome_settings():
    rules = OutcomeRules(ttft_budget=0.5, e2e_budget=3.0, min_output_tokens=10)
    assert classify("chat", _ok_reply(), rules=rules, primary_model="m", ttft=0.6).reason.startswith("ttft")
    assert classify("chat", _ok_reply(), rules=rules, primary_model="m", ttft=0.1, e2e=3.5).reason.startswith("e2e")
    assert "fewer than 10" in classify("chat", _ok_reply(), rules=rules, primary_model="m", output_tokens=5).reason
    assert classify("chat", _ok_reply(), rules=rules, primary_model="m", output_tokens=10).outcome == "ok"
    assert classify("chat", _ok_reply(), rules=RULES, primary_model="m", header="x-degraded").outcome == "degraded"
    assert degraded_header({"x-degraded": "true"}, RULES.degraded_headers) == "x-degraded"
    assert degraded_header({"x-degraded": "0", "x-brownout-degraded": "false"}, RULES.degraded_headers) is None


def test_status_and_transport_error_classes():
    import http.client

    assert [status_class(s) for s in (200, 404, 429, 503)] == [None, "http_4xx", "throttled", "http_5xx"]

    class Wrapped(Exception):
        original = ConnectionRefusedError()

    assert transport_error_class(Wrapped(), False) == "connect_refused"
    assert transport_error_class(ConnectionResetError(), True) == "connection_reset"
    assert transport_error_class(TimeoutError(), True) == "timeout"
    assert transport_error_class(http.client.HTTPException("Incomplete response."), True) == "stream_cut"
    assert transport_error_class(http.client.HTTPException("connection closed."), False) == "connection_reset"
    assert transport_error_class(ValueError("?"), False) == "client_error"


# --- plan, tail, collector -------------------------------------------------------------------

def test_plan_round_trips_through_json(tmp_path):
    load = Load.model_validate({"arrival": {"kind": "poisson", "rate": "2.5/s", "burstiness": 0.5}, "timeout": "1500ms"})
    plan = LoadPlan("http://127.0.0.1:1", load, "m", OutcomeRules(ttft_budget=0.25), 10.0, 20.0, tmp_path, tmp_path,
                    {"x-a": "b"}, "KEY_VAR", (1_700_000_000.25, 12.5))
    again = LoadPlan.from_json(plan.to_json())
    assert again == plan
    assert LoadPlan.from_json(dataclasses.replace(plan, clock_anchor=None).to_json()).clock_anchor is None
    assert "KEY_VAR" in plan.to_json()


def test_tail_returns_only_complete_new_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    tail = JsonlTail(path)
    assert tail.read() == []
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a"')
    assert tail.read() == [{"a": 1}, {"a": 2}]
    with path.open("ab") as fh:
        fh.write(b': 3}\n')
    assert tail.read() == [{"a": 3}] and tail.read() == []


def test_collector_counts_and_rate_over_the_run_so_far(tmp_path):
    with RecordWriter(tmp_path / "r.jsonl") as writer:
        col = Collector(writer, 10.0, 1, start_at=0.0)
        col.add(RequestRecord("a", "chat", "w0", 0.0, 0.0, t_first=0.2, t_end=1.0, outcome="ok"))
        col.add(RequestRecord("b", "chat", "w0", 0.0, None, t_end=0.0, error_class="dropped", drop_reason="in_flight_cap"))
        col.add(RequestRecord("c", "chat", "w0", 0.1, None, t_end=1.5, error_class="dropped", drop_reason="load_backlog"))
        col.worker_stats("w0", sent=1, in_flight=0)
        snap = col.snapshot(2.0, "running")
        assert (snap.ok, snap.failed, snap.dropped, snap.dropped_backlog, snap.records) == (1, 2, 2, 1, 3)
        assert snap.ttft_p95 == pytest.approx(0.2) and snap.achieved_rate == pytest.approx(0.5)
        assert "dropped by the harness 2 (load generator backlog 1" in snap.line() and "failed 0 |" in snap.line()
        col.worker_stats("w0", sent=11, in_flight=2)
        assert col.snapshot(4.0, "running").achieved_rate == pytest.approx(11 / 4)
        late = col.snapshot(10.0, "running")  # the rate is over the run so far, TTFT p95 over the last few seconds
        assert late.achieved_rate == pytest.approx(1.1) and late.ttft_p95 is None
    assert len(Path(tmp_path / "r.jsonl").read_text().splitlines()) == 3


def test_loop_monitor_p99_is_the_upper_edge_of_the_bin_holding_it():
    from brownout.loadgen.health import LoopHealth, LoopMonitor, worst_health

    reports: list[LoopHealth] = []
    monitor = LoopMonitor(reports.append)
    for _ in range(990):
        monitor.record(0.0001)           # first fine bin (0-0.25 ms)
    for _ in range(10):
        monitor.record(0.155)            # coarse bin 150-160 ms; the p99 is still the 990th sample
    health = monitor.health()
    assert health.loop_lag_p99 == pytest.approx(0.00025) and health.loop_lag_max == pytest.approx(0.155)
    monitor.record(0.155)                # now 11 of 1001 are late: the p99 lands among them
    assert monitor.health().loop_lag_p99 == pytest.approx(0.16)
    monitor.record(99.0)                 # beyond the last bin: clamped, never an IndexError
    assert monitor.health().loop_lag_max == 99.0
    worst = worst_health([LoopHealth(0.2, 0.001, 0.002), LoopHealth(None, 0.004, 0.003), LoopHealth(0.5, None, None)])
    assert worst == {"cpu_share": 0.5, "loop_lag_p99": 0.004, "loop_lag_max": 0.003}


def test_request_template_fills_placeholders_and_is_validated_with_its_location(tmp_path):
    template = RequestTemplate(path="/agent/run", body={"input": {"text": "Q: {{prompt}}"}, "history": "{{messages}}",
                                                        "n": "{{max_tokens}}", "tags": ["{{model}}", 1]})
    spec = build_request("chat", Prompt("hi", max_tokens=7), "m", False, 0.0, template)
    assert spec.path == "/agent/run"
    assert spec.body == {"input": {"text": "Q: hi"}, "history": [{"role": "user", "content": "hi"}], "n": 7,
                         "tags": ["m", 1]}
    source = """apiVersion: brownout/v1
kind: Experiment
metadata: {name: t}
target: {sandbox: {}}
load:
  arrival: {kind: constant, rate: 1/s}
  http:
    body: {query: "{{question}}"}
phases: {baseline: 1, fault: 1, recovery: 1}
"""
    with pytest.raises(SpecErrors) as caught:
        load_experiment_text(source, tmp_path / "x.yaml")
    error = caught.value.errors[0]
    assert error.field == "load.http.body" and error.line == 8, error
    assert "unknown placeholder {{question}}" in error.message
    with pytest.raises(SpecErrors, match=r"never uses \{\{prompt\}\} or \{\{messages\}\}"):
        load_experiment_text(source.replace("{{question}}", "fixed"), tmp_path / "x.yaml")
