"""Golden-set probes: item files (located errors), the check vocabulary, and runs against a real server."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from brownout.errors import SpecError
from brownout.spec.checks import checks_failure, content_failure, last_number
from brownout.probes.golden import GoldenCheck, read_items
from brownout.probes.target import ProbeTarget
from brownout.spec.probes import ContentCheck, GoldenProbe
from brownout.experiments.guards import build_triggers
from brownout.rundata.probes import ProbeResult
from brownout.spec.guards import AccuracyGuard


def test_new_checks_say_why():
    assert last_number("2 + 2 = 4.") == 4.0 and last_number("1,250.5 cm") == 1250.5 and last_number("none") is None
    assert content_failure(ContentCheck(number=4), "2 + 2 = 5") == "ends with number 5, not 4 (got '2 + 2 = 5')"
    assert content_failure(ContentCheck(number=250, tolerance=0.5), "about 250.4") is None
    assert content_failure(ContentCheck(not_contains="sorry"), "Sorry, no").startswith("contains 'sorry'")
    assert content_failure(ContentCheck(max_length=3), " abcd ") == "is 4 characters, over 3 (got 'abcd')"
    assert checks_failure([ContentCheck(contains="a"), ContentCheck(regex="^b")], "a") == "does not match /^b/ (got 'a')"
    with pytest.raises(ValueError, match="tolerance goes with number"):
        ContentCheck(contains="x", tolerance=1)


@pytest.mark.parametrize("line, where, message", [
    ('{"prompt": "q"}', ("checks", 1), "Field required"),
    ('{"prompt": "q", "checks": [{"regex": "("}]}', ("checks[0].regex", 1), "regex does not compile"),
    ('{"prompt": "q", "messages": [{"role": "user", "content": "x"}], "checks": [{"contains": "a"}]}', ("(item)", 1),
     "exactly one of prompt or messages"),
    ('{"prompt": "q", "checks": [{"contains": "a", "equals": "b"}]}', ("checks[0]", 1), "set exactly one of"),
    ('{"prompt": "q", "checks": [{"contains": "a"}]', (None, 1), "invalid JSON"),
])
def test_item_errors_name_file_line_and_field(tmp_path, line, where, message):
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "ok", "prompt": "q", "checks": [{"contains": "a"}]}\n\n' + line + "\n")
    with pytest.raises(SpecError, match=message) as caught:
        read_items(path)
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(path), 3, where[0])


def test_duplicate_ids_and_empty_sets_are_refused(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "prompt": "q", "checks": [{"contains": "a"}]}\n' * 2)
    with pytest.raises(SpecError, match="duplicate item id 'a' \\(first on line 1\\)"):
        read_items(path)
    path.write_text("\n")
    with pytest.raises(SpecError, match="no items"):
        read_items(path)


@pytest.mark.parametrize("name", ["sandbox.jsonl", "openai-canary.jsonl"])
def test_shipped_golden_sets_are_valid(name):
    from pathlib import Path

    items = read_items(Path(__file__).resolve().parents[2] / "probes" / "golden" / name)
    assert len(items) >= 5 and len({i.id for i in items}) == len(items)


def test_golden_probe_cycles_items_and_judges_answers(fake_ai, target, tmp_path):
    (tmp_path / "set.jsonl").write_text(
        '{"id": "paris", "prompt": "capital?", "checks": [{"contains": "Paris"}]}\n'
        '{"id": "lyon", "messages": [{"role": "user", "content": "other?"}], "max_tokens": 3, "checks": [{"contains": "Lyon"}]}\n'
    )
    check = GoldenCheck(GoldenProbe(name="g", kind="golden", path="set.jsonl"))
    at = ProbeTarget(base_url=target.base_url, clock=target.clock, headers=target.headers, model="m", base_dir=tmp_path)

    async def runs(n: int) -> list[ProbeResult]:
        async with httpx.AsyncClient() as client:
            return [await check.run(client, at) for _ in range(n)]

    first = asyncio.run(runs(3))
    assert [(r.item, r.ok, r.correct) for r in first] == [("paris", True, True), ("lyon", False, False), ("paris", True, True)]
    assert first[1].reason.startswith("wrong answer: item 'lyon': answer does not contain 'Lyon'")
    fake_ai.behaviour.answer = ""
    assert [(r.ok, r.correct, r.reason) for r in asyncio.run(runs(1))] == [(False, False, "wrong answer: item 'lyon': answer is empty")]
    fake_ai.behaviour.status = 503
    [unanswered] = asyncio.run(runs(1))
    assert (unanswered.ok, unanswered.correct, unanswered.item) == (False, None, "paris")


def test_accuracy_guard_fires_on_wrong_answers_only():
    [guard] = build_triggers([AccuracyGuard(name="wrong", kind="accuracy", below=0.8, window=10, min_answers=3)])
    results = [ProbeResult("g", "golden", t, False, 0.1, "timeout", item="a", correct=None) for t in range(5)]
    guard.update(5.0, [{"t_end": 4.0, "correct": True}], results)
    assert guard.fired is None
    guard.update(6.0, [{"t_end": 5.5, "correct": False}],
                 [ProbeResult("g", "golden", 5.0, False, 0.1, "wrong", item="a", correct=False)])
    assert guard.fired is not None and "accuracy 0.33 < 0.80" in guard.fired.reason and "3 judged answers" in guard.fired.reason


def test_load_items_carry_checks_and_a_failed_one_degrades_the_request(tmp_path):
    from brownout.errors import LoadError
    from brownout.loadgen.datasets import load_prompts
    from brownout.loadgen.outcome import Verdict, check_answer, checked
    from brownout.spec.load import JsonlDataset

    path = tmp_path / "load.jsonl"
    path.write_text('{"prompt": "capital?", "checks": [{"contains": "Paris"}]}\n{"prompt": "plain"}\n')
    judged, plain = load_prompts(JsonlDataset(kind="jsonl", path="load.jsonl"), tmp_path, seed=1)
    assert [c.contains for c in judged.checks] == ["Paris"] and plain.checks == ()
    assert check_answer(Verdict("ok"), "It is Paris.", judged.checks) == Verdict("ok", correct=True)
    assert check_answer(Verdict("ok"), "Lyon", judged.checks) == Verdict(
        "degraded", reason="content check: answer does not contain 'Paris' (got 'Lyon')", correct=False)
    assert check_answer(Verdict("degraded", reason="served by model x"), "", judged.checks) == Verdict(
        "degraded", reason="served by model x", correct=False)
    assert check_answer(Verdict("failed", "timeout"), "", judged.checks).correct is None
    assert check_answer(Verdict("ok"), "anything", plain.checks).correct is None
    share = sum(checked(f"w0-{k}", 0.3) for k in range(2000)) / 2000
    assert 0.25 < share < 0.35 and checked("w0-1", 0.3) == checked("w0-1", 0.3) and checked("x", 1.0)
    path.write_text('{"prompt": "q"}\n{"prompt": "q", "checks": [{"number": 1, "regex": "x"}]}\n')
    with pytest.raises(LoadError, match=r"load.jsonl:2: checks\[0\]: set exactly one of"):
        load_prompts(JsonlDataset(kind="jsonl", path="load.jsonl"), tmp_path, seed=1)
