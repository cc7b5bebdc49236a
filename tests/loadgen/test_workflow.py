"""Tool-calling workflows: the loop (workflow.py), the wire format both ways (toolcalls.py and the sandbox's
tools.py read by the load's own parser), and the spec's rules."""

from __future__ import annotations

import json

import pytest

from brownout.loadgen.datasets import Prompt
from brownout.loadgen.payloads import build_request
from brownout.loadgen.responses import Reply, StreamParser, parse_body
from brownout.loadgen.sessions import Chain
from brownout.loadgen.toolcalls import ToolCall, tool_definitions
from brownout.loadgen.workflow import run_workflow
from brownout.rundata.records import RequestRecord
from brownout.sandbox.tools import call_body, call_chunk, next_call
from brownout.sandbox.wire import SSE_DONE, final_chunk, sse
from brownout.spec.load import Load, Workflow

WORKFLOW = Workflow(
    system="be brief",
    max_steps=3,
    tools=[
        {"name": "search", "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "k": {"type": "integer"}}},
         "result_template": "found {{arguments}} with {{name}}"},
        {"name": "ticket", "result": {"id": 7}},
    ],
)


class Model:
    """Answers each step with scripted tool calls (a list) or a final text (a str), or fails (None)."""

    def __init__(self, steps: list) -> None:
        self.steps = list(steps)
        self.sent: list[tuple[str, dict, dict]] = []

    def chain(self) -> Chain:
        tools = tool_definitions(WORKFLOW.tools)
        return Chain(lambda p: build_request("chat", p, "m", False, 0.0, tools=tools), self.send, lambda s: True, lambda: 0.0)

    def send(self, request_id, spec, t_sched, tags):
        self.sent.append((request_id, spec.body, tags))
        step = self.steps.pop(0)
        rec = RequestRecord(request_id, "chat", "w0", t_sched=t_sched, t_send=0.0, outcome="failed" if step is None else "ok", **tags)
        if step is None:
            return rec, None
        reply = Reply(streamed=False, done=True, answer=[step] if isinstance(step, str) else [],
                      tool_calls=step if isinstance(step, list) else [])
        return rec, reply


def test_tool_results_go_back_until_the_final_answer():
    model = Model([[ToolCall(0, "c1", "search", '{"q": "x"}')], [ToolCall(0, "c2", "ticket", "{}"), ToolCall(1, "c3", "nope", "{}")], "done"])
    run_workflow(model.chain(), "w0-9", Prompt("help me"), 2.0, WORKFLOW)
    assert [s[0] for s in model.sent] == ["w0-9", "w0-9.1", "w0-9.2"]
    assert [s[2] for s in model.sent] == [{"workflow": "w0-9", "step": n, "max_steps": 3} for n in (1, 2, 3)]
    assert model.sent[0][1]["tools"][0]["function"]["name"] == "search"
    last = model.sent[2][1]["messages"]
    assert last[:2] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "help me"}]
    assert last[2]["tool_calls"] == [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": '{"q": "x"}'}}]
    assert last[3] == {"role": "tool", "tool_call_id": "c1", "content": 'found {"q": "x"} with search'}
    assert [m.get("content") for m in last[5:]] == ['{"id": 7}', json.dumps({"error": "unknown tool 'nope'"})]


def test_a_failed_step_or_the_step_limit_ends_the_loop():
    failed = Model([[ToolCall(0, "c1", "search", "{}")], None])
    run_workflow(failed.chain(), "w0-1", Prompt("p"), None, WORKFLOW)
    assert len(failed.sent) == 2
    endless = Model([[ToolCall(0, f"c{i}", "search", "{}")] for i in range(5)])
    run_workflow(endless.chain(), "w0-2", Prompt("p"), None, WORKFLOW)
    assert len(endless.sent) == 3  # max_steps


def _stream(kind_chunks: list[bytes]) -> Reply:
    parser = StreamParser("chat", keep_text=True)
    for n, line in enumerate(b"".join(kind_chunks).split(b"\n")):
        parser.feed(line, float(n))
    return parser.reply


def test_the_sandbox_model_calls_each_tool_once_then_answers_and_the_load_reads_it_streamed_or_not():
    body = {"messages": [{"role": "user", "content": "reset my job"}], "tools": tool_definitions(WORKFLOW.tools)}
    call = next_call(body, "reset my job", 42)
    assert (call.name, json.loads(call.arguments)) == ("search", {"q": "reset my job", "k": 3})
    assert next_call(body, "reset my job", 42) == call  # deterministic
    pieces = call.pieces(4)
    assert len(pieces) == 4 and "".join(pieces) == call.arguments  # packed, never cut
    streamed = _stream([sse(call_chunk("r", "m", call, p, first=i == 0)) for i, p in enumerate(pieces)]
                       + [sse(final_chunk("chat", "r", "m", "tool_calls")), SSE_DONE])
    assert streamed.done and streamed.content_events == 4 and streamed.answer == []
    assert [(c.id, c.name, c.arguments) for c in streamed.tool_calls] == [(call.id, "search", call.arguments)]
    assert streamed.t_first == 0.0  # the first argument piece is the first token
    whole = parse_body("chat", json.dumps(call_body("r", "m", call, 5, 4)).encode())
    assert whole.content_events == 1 and [(c.id, c.arguments) for c in whole.tool_calls] == [(call.id, call.arguments)]

    after = {**body, "messages": body["messages"] + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": call.id, "type": "function", "function": {"name": "search"}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "r"}]}
    assert next_call(after, "reset my job", 42).name == "ticket"
    done = {**after, "messages": after["messages"] + [
        {"role": "assistant", "tool_calls": [{"id": "x", "function": {"name": "ticket"}}]}, {"role": "tool", "content": "t"}]}
    assert next_call(done, "reset my job", 42) is None
    again = {**done, "messages": done["messages"] + [{"role": "user", "content": "and now?"}]}
    assert next_call(again, "and now?", 42).name == "search"  # a new user turn starts over
    assert next_call({**body, "tool_choice": "none"}, "q", 42) is None
    assert next_call({**body, "tool_choice": {"type": "function", "function": {"name": "ticket"}}}, "q", 42).name == "ticket"
    with pytest.raises(ValueError, match="'tools' must be a list"):
        next_call({"tools": [{"type": "function"}]}, "q", 42)


@pytest.mark.parametrize("load, message", [
    ({"request": "workflow"}, "request: workflow needs workflow"),
    ({"workflow": {"tools": [{"name": "a", "result": 1}]}}, "workflow goes with request: workflow"),
    ({"request": "workflow", "workflow": {"tools": [{"name": "a"}]}}, "exactly one of result, result_template"),
    ({"request": "workflow", "workflow": {"tools": [{"name": "a", "result_template": "{{args}}"}]}}, "unknown placeholder {{args}}"),
    ({"request": "workflow", "workflow": {"tools": [{"name": "a", "result": 1}, {"name": "a", "result": 2}]}}, "unique: a"),
    ({"request": "workflow", "workflow": {"tools": [{"name": "a", "result": 1}]},
      "dataset": {"kind": "synthetic", "sessions": {"turns": 2}}}, "cannot have sessions too"),
])
def test_workflow_spec_errors(load, message):
    with pytest.raises(ValueError, match=message):
        Load.model_validate({"arrival": {"kind": "constant", "rate": "1/s"}, **load})
