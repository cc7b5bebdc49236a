"""Silent degradation in the stream proxy: status 200, valid SSE and JSON, wrong content; and its spec."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter, ValidationError

from brownout.faults.stream.degrade import FILLER, degrade_body
from brownout.faults.stream.driver import rule_from_spec
from brownout.faults.stream.sse import EventSplitter, event_data, is_content_event, is_done_event
from brownout.spec.faults import Fault
from brownout.spec.units import FROM_FILE
from tests.faults.test_stream_proxy import TOKENS, chat, client, proxy, rules, upstream  # noqa: F401  (fixtures)


def _texts(raw: bytes) -> tuple[list[str], list[dict]]:
    """The content pieces and every JSON chunk of a raw SSE body (each must parse: the stream stays valid)."""
    texts, chunks = [], []
    for event in EventSplitter().feed(raw):
        if is_done_event(event):
            continue
        payload = json.loads(event_data(event))
        chunks.append(payload)
        if is_content_event(event):
            texts.append(payload["choices"][0]["delta"]["content"])
    return texts, chunks


@pytest.mark.parametrize("degrade", ["wrong_answer", "truncate", "empty", "other_model"])
def test_degraded_streams_stay_200_and_valid(degrade, proxy, client, rules):  # noqa: F811
    extra = {"after_tokens": 3} if degrade == "truncate" else {}
    rules("d", mode="degrade", degrade=degrade, **extra)
    seen = chat(client, proxy.url)
    texts, chunks = _texts(seen.raw)
    assert seen.status == 200 and seen.done
    if degrade == "wrong_answer":
        assert len(texts) == TOKENS and all(t.strip() in FILLER for t in texts)
    elif degrade == "truncate":
        assert texts == ["tok0 ", "tok1 ", "tok2 "]
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    elif degrade == "empty":
        assert texts == [] and len(chunks) == TOKENS + 2   # role, TOKENS emptied tokens, usage
    else:
        assert len(texts) == TOKENS and {c.get("model") for c in chunks if "model" in c} <= {"brownout-impostor"}
    plain = client.post(f"{proxy.url}/v1/chat/completions",
                        json={"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    assert plain.status_code == 200
    content = plain.json()["choices"][0]["message"]["content"]
    expected = {"wrong_answer": " ".join(FILLER[:4]), "truncate": "tok0 tok1 tok2", "empty": "",
                "other_model": "tok0 tok1 tok2 tok3 "}
    assert content == expected[degrade]


def test_degrade_body_leaves_what_is_not_an_answer_alone():
    assert degrade_body(b"not json", "wrong_answer", 1, "x") is None
    body = {"model": "m", "choices": [{"text": "one two three", "finish_reason": "length"}]}
    out = json.loads(degrade_body(json.dumps(body).encode(), "truncate", 1, "x"))
    assert out["choices"][0] == {"text": "one", "finish_reason": "stop"} and out["model"] == "m"


def _spec(**fields):
    return TypeAdapter(Fault).validate_python({"name": "s", **fields}, context={FROM_FILE: True})


def test_spec_of_degrade_modes_and_the_wire_rule():
    rule = rule_from_spec(_spec(kind="stream.fault", mode="degrade", degrade="truncate", after_tokens=2), seed=1)
    assert (rule.degrade, rule.after_tokens) == ("truncate", 2)
    assert rule_from_spec(_spec(kind="stream.fault", mode="degrade", degrade="other_model"), 1).model == "brownout-impostor"
    for fields, message in [
        (dict(mode="degrade"), "needs degrade"),
        (dict(mode="degrade", degrade="empty", after_tokens=2), "after_tokens goes with degrade 'truncate'"),
        (dict(mode="degrade", degrade="empty", model="x"), "model goes with degrade 'other_model'"),
        (dict(mode="cut", degrade="empty"), "does not use degrade"),
    ]:
        with pytest.raises(ValidationError, match=message):
            _spec(kind="stream.fault", **fields)
    bad = _spec(kind="sandbox.bad-rollout", answer="truncate", tokens=2, select={"mode": "all", "max_share": 1})
    assert bad.answer == "truncate"
    with pytest.raises(ValidationError, match="tokens goes with answer 'truncate'"):
        _spec(kind="sandbox.bad-rollout", tokens=2)


def test_sandbox_bad_rollout_answers():
    from brownout.sandbox.degrade import Answer, Degradation
    from brownout.sandbox.text import generate_words

    good = Answer(generate_words("capital of france", "p", 1, 8), "length", "sandbox-large")
    assert " ".join(good.words).startswith("Paris is the capital")
    wrong = Degradation("wrong_answer").apply(good, "p", 1)
    assert len(wrong.words) == 8 and "Paris" not in wrong.words and wrong.model == "sandbox-large"
    assert Degradation("truncate", tokens=2).apply(good, "p", 1) == Answer(["Paris", "is"], "stop", "sandbox-large")
    assert Degradation("empty").apply(good, "p", 1).words == [""]
    assert Degradation("other_model", model="tiny").apply(good, "p", 1) == Answer(good.words, "length", "tiny")
    half = Degradation("wrong_answer", share=0.5, seed=3)
    picked = [half.apply(good, "p", 1) != good for _ in range(400)]
    assert 150 < sum(picked) < 250 and half.affected == sum(picked)
    with pytest.raises(ValueError, match="answer must be one of"):
        Degradation.from_body({"answer": "nonsense"})
