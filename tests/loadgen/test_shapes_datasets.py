"""Pure parts added for shapes, token-rate targets, bursts and the new datasets."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from brownout.errors import LoadError
from brownout.spec.load import Load, LongContextDataset, SyntheticDataset
from brownout.loadgen.datasets import load_prompts, mean_output_tokens
from brownout.loadgen.responses import StreamParser
from brownout.loadgen.schedule import nominal_rate, timer_for, users_profile
from brownout.loadgen.shapes import Profile, Segment


def _arrival(raw: dict):
    return Load.model_validate({"arrival": raw}).arrival


def _until(timer, end: float) -> list[float]:
    return list(itertools.takewhile(lambda t: t < end, timer.times(0.0)))


def _slices(times: list[float], edges: list[float]) -> list[int]:
    return [sum(a <= t < b for t in times) for a, b in itertools.pairwise(edges)]


def test_constant_ramp_sends_the_integral_of_the_rate():
    timer = timer_for(_arrival({"kind": "constant", "shape": {"kind": "ramp", "from": "0/s", "to": "40/s", "over": "2s"}}), 1)
    times = _until(timer, 4.0)
    assert _slices(times, [0, 1, 2, 3, 4]) == [10, 30, 40, 40]  # 20t^2 by t<2, then 40/s held
    assert str(timer) == "constant@ramp(0.00/s->40.00/s over 2s)"


def test_step_sweep_and_spike_counts_per_slice():
    step = {"kind": "step", "steps": [{"at": "0s", "level": "10/s"}, {"at": "1s", "level": "30/s"}, {"at": "2s", "level": "0/s"}]}
    times = list(timer_for(_arrival({"kind": "constant", "shape": step}), 1).times(0.0))  # ends: rate 0 for good
    assert _slices(times, [0, 1, 2, 10]) == [10, 30, 0] and len(times) == 40
    sweep = timer_for(_arrival({"kind": "constant", "shape": {"kind": "sweep", "levels": ["5/s", "10/s", "20/s"], "hold": "1s"}}), 1)
    assert _slices(_until(sweep, 4.0), [0, 1, 2, 3, 4]) == [5, 10, 20, 20]
    spike = {"kind": "spike", "base": "10/s", "peak": "200/s", "at": "1s", "for": "1s"}
    times = _until(timer_for(_arrival({"kind": "poisson", "shape": spike}), 7), 3.0)
    base1, peak, base2 = _slices(times, [0, 1, 2, 3])
    assert 150 <= peak <= 250 and base1 <= 25 and base2 <= 25
    assert times == _until(timer_for(_arrival({"kind": "poisson", "shape": spike}), 7), 3.0)  # seeded


def test_shaped_poisson_mean_follows_the_profile():
    timer = timer_for(_arrival({"kind": "poisson", "shape": {"kind": "ramp", "from": "100/s", "to": "300/s", "over": "10s"}}), 3)
    times = _until(timer, 10.0)
    assert len(times) == pytest.approx(2000, rel=0.05)
    first, second = _slices(times, [0, 5, 10])
    assert first == pytest.approx(750, rel=0.1) and second == pytest.approx(1250, rel=0.1)


_LEVELS = st.one_of(st.just(0.0), st.floats(1e-6, 50))  # a level under a millionth a second is none (subnormals underflow)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 5), _LEVELS, _LEVELS), min_size=1, max_size=5), st.floats(0, 200))
def test_inverse_undoes_cumulative(parts, u):
    segments, t = [], 0.0
    for length, a, b in parts:
        segments.append(Segment(t, t + length, a, b))
        t += length
    segments.append(Segment(t, math.inf, 5.0, 5.0))
    profile = Profile(tuple(segments), "p")
    x = profile.inverse(u)
    assert x is not None and profile.cumulative(x) == pytest.approx(u, abs=1e-6)


def test_token_rate_target_becomes_a_request_rate():
    arrival = _arrival({"kind": "constant", "output_tokens_per_s": 2000})
    prompts = load_prompts(SyntheticDataset(output_tokens={"mean": 125}), ".", 1)
    assert mean_output_tokens(prompts) == 125
    assert nominal_rate(arrival, 125) == 16.0
    timer = timer_for(arrival, 1, 125)
    assert str(timer) == "constant@2000 tok/s = 16.00/s" and len(_until(timer, 2.0)) == 32
    with pytest.raises(LoadError, match="output lengths"):
        nominal_rate(arrival, None)


def test_burst_timer_and_users_profile():
    timer = timer_for(_arrival({"kind": "burst", "size": 3, "every": "500ms"}), 1)
    assert _until(timer, 1.1) == [0.0] * 3 + [0.5] * 3 + [1.0] * 3
    assert str(timer) == "burst@3 every 0.5s" and nominal_rate(_arrival({"kind": "burst", "size": 3, "every": "500ms"})) == 6
    users = users_profile(_arrival({"kind": "concurrency", "shape": {"kind": "step", "steps": [{"at": "0s", "level": 1}, {"at": "1s", "level": 4}]}}))
    assert [users.level(t) for t in (0, 0.99, 1.0, 100)] == [1, 1, 4, 4]


@pytest.mark.parametrize("raw, message", [
    ({"kind": "constant"}, "exactly one of rate, shape"),
    ({"kind": "poisson", "rate": "1/s", "output_tokens_per_s": 5}, "exactly one of rate, shape"),
    ({"kind": "concurrency", "users": 2, "shape": {"kind": "sweep", "levels": [1], "hold": "1s"}}, "exactly one of users, shape"),
    ({"kind": "constant", "shape": {"kind": "step", "steps": [{"at": "1s", "level": "1/s"}]}}, "first step must start at 0s"),
    ({"kind": "constant", "shape": {"kind": "sweep", "levels": ["1/s"], "hold": "0"}}, "hold must be longer"),
    ({"kind": "burst", "size": 2, "every": "0"}, "every must be longer"),
])
def test_arrival_spec_errors(raw, message):
    with pytest.raises(ValidationError, match=message):
        _arrival(raw)


def test_master_bind_is_host_port():
    with pytest.raises(ValidationError, match="not HOST:PORT"):
        Load.model_validate({"arrival": {"kind": "constant", "rate": "1/s"}, "master_bind": "somewhere"})


def test_shared_prefix_groups_are_deterministic():
    ds = SyntheticDataset(input_tokens={"mean": 5}, shared_prefix={"groups": 3, "tokens": 40})
    prompts = load_prompts(ds, ".", 9)
    assert prompts == load_prompts(ds, ".", 9) and prompts != load_prompts(ds, ".", 10)
    heads = [" ".join(p.text.split()[:40]) for p in prompts]
    assert len(set(heads)) == 3 and heads[0] == heads[3] == heads[6] and heads[0] != heads[1]
    assert all(len(p.text.split()) == 45 for p in prompts)
    plain = load_prompts(SyntheticDataset(input_tokens={"mean": 5}), ".", 9)
    assert [p.text.split()[40:] for p in prompts[:5]] == [p.text.split() for p in plain[:5]]  # same draws after the prefix


def test_sessions_and_long_context_prompts():
    turns = load_prompts(SyntheticDataset(sessions={"turns": 3}, output_tokens={"mean": 7}), ".", 1)
    assert all(len(p.followups) == 2 and p.followups[0].max_tokens == 7 for p in turns)
    long = load_prompts(LongContextDataset(kind="long_context", context_tokens=1000, fill=0.9, output_tokens=20, prompts=4), ".", 1)
    assert len(long) == 4 and len({p.text for p in long}) == 4
    assert all(len(p.text.split()) == 880 and p.max_tokens == 20 for p in long)
    with pytest.raises(ValidationError, match="no room"):
        LongContextDataset(kind="long_context", context_tokens=20, fill=0.5, output_tokens=16)


def test_stream_parser_keeps_text_only_when_asked():
    lines = [b'data: {"choices":[{"delta":{"content":"he"}}]}', b'data: {"choices":[{"delta":{"content":"llo"}}]}', b"data: [DONE]"]
    kept, dropped = StreamParser("chat", keep_text=True), StreamParser("chat")
    for i, line in enumerate(lines):
        kept.feed(line, float(i))
        dropped.feed(line, float(i))
    assert "".join(kept.reply.answer) == "hello" and dropped.reply.answer == []
    assert kept.reply.content_events == dropped.reply.content_events == 2
