"""Sessions as chains of requests (sessions.py) and ShareGPT conversations replayed turn by turn (datasets.py).

`run_session` gets the dispatcher's side as plain callables; here a script answers them,
so what each turn sends, and where a session stops, is checked request by request.
"""

from __future__ import annotations

import json

import pytest

from brownout.errors import LoadError
from brownout.loadgen.datasets import Prompt, load_prompts
from brownout.loadgen.payloads import build_request
from brownout.loadgen.responses import Reply
from brownout.loadgen.sessions import Chain, run_session
from brownout.rundata.records import RequestRecord
from brownout.spec.load import Sessions, ShareGPTDataset, ShareGPTReplay


class Script:
    """Answers each request with the next (outcome, answer) and keeps what was sent."""

    def __init__(self, answers: list[tuple[str, str]], runs_for: int = 100) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, dict, dict, float | None, dict]] = []
        self.pauses: list[float] = []
        self.runs_for = runs_for
        self.clock = 0.0

    def chain(self) -> Chain:
        build = lambda p: build_request("chat", p, "m", True, 0.0)  # noqa: E731
        return Chain(build, self.send, self.pause, lambda: self.clock)

    def send(self, request_id, spec, t_sched, tags):
        self.sent.append((request_id, spec.body, spec.headers, t_sched, tags))
        outcome, text = self.answers.pop(0)
        rec = RequestRecord(request_id, spec.kind, "w0", t_sched=t_sched, t_send=t_sched, outcome=outcome, **tags)
        self.clock += 1.0
        return rec, (Reply(streamed=True, done=True, answer=[text]) if outcome != "failed" else None)

    def pause(self, seconds):
        self.pauses.append(seconds)
        self.clock += seconds
        return len(self.pauses) < self.runs_for


PROMPT = Prompt("first?", max_tokens=5, followups=(Prompt("second?", max_tokens=6), Prompt("third?", max_tokens=7)))


def test_each_turn_resends_the_prompts_and_the_answers_received_with_the_session_header():
    script = Script([("ok", "one"), ("degraded", "two"), ("ok", "three")])
    run_session(script.chain(), "w0-4", PROMPT, 10.0, Sessions(turns=3, think_time=0.5))
    ids = [s[0] for s in script.sent]
    assert ids == ["w0-4", "w0-4.1", "w0-4.2"]
    assert [s[4] for s in script.sent] == [{"session": "w0-4", "turn": n, "turns": 3} for n in (1, 2, 3)]
    assert all(s[2] == {"X-Session-Id": "w0-4"} for s in script.sent)
    assert script.sent[2][1]["messages"] == [
        {"role": "user", "content": "first?"}, {"role": "assistant", "content": "one"},
        {"role": "user", "content": "second?"}, {"role": "assistant", "content": "two"},  # a degraded answer still counts
        {"role": "user", "content": "third?"},
    ]
    assert [s[1]["max_tokens"] for s in script.sent] == [5, 6, 7]
    assert script.pauses == [0.5, 0.5]
    assert [s[3] for s in script.sent] == [10.0, 1.5, 3.0]  # a later turn is scheduled after its think time


def test_a_failed_turn_ends_the_session_there():
    script = Script([("ok", "one"), ("failed", "")])
    run_session(script.chain(), "w0-1", PROMPT, None, Sessions(turns=3, header=None))
    assert [s[0] for s in script.sent] == ["w0-1", "w0-1.1"]
    assert script.sent[0][2] == {}  # header: null sends none


def test_the_run_ending_between_turns_ends_the_session_unsent():
    script = Script([("ok", "one"), ("ok", "two")], runs_for=2)
    run_session(script.chain(), "w0-2", PROMPT, None, Sessions(turns=3))
    assert len(script.sent) == 2


def test_without_sessions_a_prompt_is_one_untagged_request():
    script = Script([("ok", "one")])
    run_session(script.chain(), "w0-3", Prompt("alone"), 1.0, None)
    assert [(s[0], s[2], s[4]) for s in script.sent] == [("w0-3", {}, {})]


def _conversation(*turns: tuple[str, str]) -> dict:
    return {"conversations": [m for ask, reply in turns for m in ({"from": "human", "value": ask}, {"from": "gpt", "value": reply})]}


def test_sharegpt_replay_makes_each_conversation_one_session(tmp_path):
    rows = [
        _conversation(("hi there", "hello you " * 3), ("and then?", "more")),
        {"conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "a b c"},
                           {"from": "gpt", "value": "out of turn"}, {"from": "human", "value": "lost"}]},
        {"conversations": [{"from": "gpt", "value": "no human first"}]},
        _conversation(("x", "y"), ("x2", "y2"), ("x3", "y3")),
    ]
    path = tmp_path / "sg.json"
    path.write_text(json.dumps(rows))
    replay = load_prompts(ShareGPTDataset(kind="sharegpt", path=str(path), sessions=ShareGPTReplay(max_turns=2)), tmp_path, 1)
    assert [(p.text, p.max_tokens, [(f.text, f.max_tokens) for f in p.followups]) for p in replay] == [
        ("hi there", 8, [("and then?", 1)]),
        ("q1", 4, []),                 # the turn order breaks after the first reply
        ("x", 1, [("x2", 1)]),         # max_turns
    ]
    single = load_prompts(ShareGPTDataset(kind="sharegpt", path=str(path)), tmp_path, 1)
    assert [(p.text, p.followups) for p in single] == [("hi there", ()), ("q1", ()), ("x", ())]


def test_sharegpt_without_a_usable_conversation_names_the_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text(json.dumps({"conversations": []}) + "\n")
    with pytest.raises(LoadError, match="empty.jsonl: no usable prompts"):
        load_prompts(ShareGPTDataset(kind="sharegpt", path=str(path), sessions=ShareGPTReplay()), tmp_path, 1)
