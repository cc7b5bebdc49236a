"""Remote workers join the master over TCP (loopback here) as separate processes; one that dies is a harness event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from brownout.loadgen import start_load
from brownout.processes import free_port
from brownout.rundata.records import load_records
from tests.e2e.nginx.stack import children

pytestmark = pytest.mark.timeout(90)


def test_a_remote_worker_that_dies_is_reported_lost_and_its_share_is_not_target_errors(fake_server, make_plan, tmp_path):
    port = free_port()
    load = {"arrival": {"kind": "constant", "rate": "20/s"}, "workers": 1, "expect_workers": 1,
            "master_bind": f"127.0.0.1:{port}", "worker_timeout": "40s", "drain": "1s"}
    remote = subprocess.Popen([sys.executable, "-m", "brownout", "worker", "--master", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        plan = make_plan(fake_server.url, load, duration=7.0, lead=6.0, headers={"x-fake-tokens": "2"})
        run = start_load(plan)  # returns once both workers are connected
        try:
            while time.time() < plan.start_at + 1.5:
                time.sleep(0.05)
            os.kill(remote.pid, signal.SIGKILL)
            remote.wait()
            assert run.wait(plan.end_at - time.time() + 20.0) == 0, run.log_tail()
        finally:
            run.stop()
    finally:
        if remote.poll() is None:
            remote.kill()
            remote.wait()
    progress = run.progress()
    assert len(progress.lost_workers) == 1 and run.newly_lost_workers() == progress.lost_workers
    assert run.newly_lost_workers() == []  # said once
    lost = progress.lost_workers[0]
    df = load_records(run.record_paths())
    kept = df[df.worker != lost]
    assert len(kept) == 70 and set(kept.outcome) == {"ok"}  # the live worker's whole share: every other arrival
    gone = df[df.worker == lost]
    assert len(gone) < 70 and (gone.t_sched < plan.start_at + 2.5).all()  # nothing of it after it died
    assert not (df.outcome == "failed").any()  # its lost share is not the target's errors
    assert "LOST load worker(s)" in progress.line()


def test_a_worker_starved_for_a_few_seconds_is_missing_not_lost(fake_server, make_plan):
    """SIGSTOP stands in for a busy machine starving a local worker past Locust's ~3 s heartbeat limit."""
    load = {"arrival": {"kind": "constant", "rate": "20/s"}, "workers": 2, "drain": "3s"}
    plan = make_plan(fake_server.url, load, duration=8.0, lead=6.0, headers={"x-fake-tokens": "2"})
    run = start_load(plan)
    try:
        while time.time() < plan.start_at + 1.0:
            time.sleep(0.05)
        workers = children(run.pid)
        assert len(workers) == 2, workers
        os.kill(workers[1], signal.SIGSTOP)
        time.sleep(5.0)  # Locust calls it missing after ~3 s; brownout waits LOST_AFTER more before calling it lost
        os.kill(workers[1], signal.SIGCONT)
        assert run.wait(plan.end_at - time.time() + 30.0) == 0, run.log_tail()
    finally:
        run.stop()
    progress = run.progress()
    assert progress.lost_workers == [], progress.line()
    df = load_records(run.record_paths())
    assert len(df) == 160 and df.request_id.is_unique  # every arrival of both shares, each once
    assert set(df.worker) == {"w0", "w1"} and (df.worker == "w0").sum() == 80
    # what the stopped worker could not send on time is the harness's backlog, never the target's error
    dropped = df[df.error_class == "dropped"]
    assert dropped.worker.nunique() <= 1 and set(dropped.drop_reason) <= {"load_backlog"}
    failed = df[(df.outcome == "failed") & (df.error_class != "dropped")]
    assert failed.empty, failed.error.tolist()
