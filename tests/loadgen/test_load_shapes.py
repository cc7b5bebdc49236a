"""Shapes, token-rate targets, sessions and remote workers, driven against the fake server on loopback."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from brownout.errors import LoadError
from brownout.loadgen import start_load
from tests.loadgen.support import run_on_time, run_to_end

pytestmark = pytest.mark.timeout(90)




def _slices(values, start, edges):
    return [int(((values - start >= a) & (values - start < b)).sum()) for a, b in itertools.pairwise(edges)]


def test_step_shape_sends_each_slice_its_rate(fake_server, make_plan):
    shape = {"kind": "step", "steps": [{"at": "0s", "level": "10/s"}, {"at": "1s", "level": "30/s"}]}
    plan = make_plan(fake_server.url, {"arrival": {"kind": "constant", "shape": shape}}, duration=2.0, lead=3.0,
                     headers={"x-fake-tokens": "2"})
    _, df, plan = run_on_time(plan)
    assert set(df.outcome) == {"ok"}
    assert _slices(df.t_sched, plan.start_at, [0, 1, 2]) == [10, 30]
    sent = _slices(df.t_send, plan.start_at, [0, 1, 2])
    assert abs(sent[0] - 10) <= 2 and abs(sent[1] - 30) <= 2, sent


def test_closed_loop_user_step(fake_server, make_plan):
    shape = {"kind": "step", "steps": [{"at": "0s", "level": 1}, {"at": "1s", "level": 3}]}
    headers = {"x-fake-ttft-ms": "40", "x-fake-itl-ms": "20", "x-fake-tokens": "4"}
    plan = make_plan(fake_server.url, {"arrival": {"kind": "concurrency", "shape": shape}}, duration=2.0, lead=3.0,
                     headers=headers)
    _, df, plan = run_on_time(plan)
    assert set(df.outcome) == {"ok"}

    def levels(a, b):
        probes = [plan.start_at + a + i * 0.05 for i in range(int((b - a) / 0.05))]
        return [int(((df.t_send <= t) & (df.t_end > t)).sum()) for t in probes]

    before, after = levels(0.2, 0.9), levels(1.3, 1.9)
    assert max(before) == 1, before
    assert max(after) == 3 and sum(after) / len(after) >= 2.5, after


def test_token_rate_target(fake_server, make_plan):
    load = {"arrival": {"kind": "constant", "output_tokens_per_s": 200},
            "dataset": {"kind": "synthetic", "output_tokens": {"mean": 10}}}
    run, df = run_to_end(make_plan(fake_server.url, load, duration=1.0))
    assert len(df) == 20 and set(df.outcome) == {"ok"}
    assert df.output_tokens.sum() == 200  # the fake server writes max_tokens tokens
    assert run.progress().target_rate == 20


def test_sessions_resend_the_conversation(fake_server, make_plan):
    load = {"arrival": {"kind": "constant", "rate": "4/s"},
            "dataset": {"kind": "synthetic", "input_tokens": {"mean": 6}, "sessions": {"turns": 3}}}
    _, df = run_to_end(make_plan(fake_server.url, load, duration=1.0, headers={"x-fake-tokens": "3"}))
    assert len(df) == 12 and set(df.outcome) == {"ok"}
    assert sorted(df.session.unique()) == [f"w0-{k}" for k in range(4)]
    assert (df.groupby("session").size() == 3).all()
    third = df[df.request_id == "w0-1.2"].iloc[0]
    second = df[df.request_id == "w0-1.1"].iloc[0]
    assert third.t_sched >= second.t_end and third.t_send >= third.t_sched
    bodies = fake_server.bodies()
    messages = bodies["w0-1.2"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[1]["content"] == messages[3]["content"] == "t0 t1 t2 "  # the answers actually received
    assert messages[:3] == bodies["w0-1.1"]["messages"]
    assert messages[0] == bodies["w0-1"]["messages"][0]


def test_a_remote_worker_joins_and_its_records_merge(fake_server, make_plan):
    load = {"arrival": {"kind": "constant", "rate": "20/s"}, "workers": 1, "expect_workers": 1, "worker_timeout": "20s"}
    plan = make_plan(fake_server.url, load, duration=1.5, lead=6.0, headers={"x-fake-tokens": "2"})
    remote: list[subprocess.Popen] = []

    def join(progress):
        if progress.master and not remote:
            port = progress.master.rpartition(":")[2]
            remote.append(subprocess.Popen([sys.executable, "-m", "brownout", "worker", "--master", f"127.0.0.1:{port}"]))

    try:
        run, df = run_to_end(plan, on_progress=join)
        assert remote, "the master's address never showed in the progress"
    finally:
        for proc in remote:
            proc.terminate()
            proc.wait(10)
    assert len(df) == 30 and df.request_id.is_unique and set(df.outcome) == {"ok"}
    assert df.groupby("worker").size().to_dict() == {"w0": 15, "w1": 15}
    progress = run.progress()
    assert progress.workers == 2 and progress.connected == 2 and progress.ok == 30


def test_missing_remote_workers_give_a_clear_error(make_plan, tmp_path):
    load = {"arrival": {"kind": "constant", "rate": "5/s"}, "expect_workers": 2, "worker_timeout": "1s"}
    plan = make_plan("http://127.0.0.1:9", load, duration=1.0)
    with pytest.raises(LoadError, match=r"only [01] of 3 load workers connected to the master at 127\.0\.0\.1:\d+ within 1s.*brownout worker --master"):
        start_load(plan)
