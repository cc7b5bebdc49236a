"""`brownout recover` on journals of dead runs: moot faults close, retries are bounded, `--forget` closes by hand.

The dead runs' targets are real closed ports on loopback (nothing listens there), so every
undo attempt meets a real connection refusal.
"""

from __future__ import annotations

import json

import pytest

from brownout.cli import main
from brownout.errors import JournalError
from brownout.experiments.journal import Journal, helpers_used, read_journal, stale_journals
from brownout.experiments.rollback import forget_run, recover_stale
from brownout.processes import free_port


def _dead_run(home, name: str, faults: list[tuple[str, dict, dict]], processes=()) -> Journal:
    """A journal whose owner is 'dead' (another process's start time under our pid); `faults` carry the
    run's own helpers' URLs as the run journaled them."""
    journal = Journal.create(name, {}, home=home)
    for entry_id, handle, owned in faults:
        journal.fault_intent(entry_id, handle, owned)
        journal.fault_applied(entry_id, {})
    for process in processes:
        journal.process_started(process, [], {"kind": "pids"})
    journal.close()
    lines = journal.path.read_text().splitlines()
    first = {**json.loads(lines[0]), "pid_start": 1}
    journal.path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    return journal


def _gpu_oom(url: str) -> dict:
    return {"fault": "shrink", "kind": "sandbox.gpu-oom", "data": {"control_url": url, "replicas": ["llm-a-0"]}}


def test_helpers_used_says_which_own_helpers_a_fault_acts_on_and_whether_only_on_them():
    owned = {"sandbox": ["http://127.0.0.1:4000", "http://127.0.0.1:4001"], "embedded-toxiproxy": ["http://127.0.0.1:8474"]}
    assert helpers_used(_gpu_oom("http://127.0.0.1:4000"), owned) == ({"sandbox": ["http://127.0.0.1:4000"]}, True)
    link = {"data": {"control_url": "http://127.0.0.1:9999", "toxiproxy_url": "http://127.0.0.1:8474"}}
    assert helpers_used(link, owned) == ({"embedded-toxiproxy": ["http://127.0.0.1:8474"]}, False)  # attached sandbox too
    both = {"data": {"control_url": "http://127.0.0.1:4000/", "toxiproxy_url": "http://127.0.0.1:8474"}}
    assert sorted(helpers_used(both, owned)[0]) == ["embedded-toxiproxy", "sandbox"] and helpers_used(both, owned)[1]
    assert helpers_used(_gpu_oom("http://127.0.0.1:400"), owned) == ({}, False)  # a prefix of a port is another origin
    assert helpers_used({"data": {"namespace": "prod"}}, owned) == ({}, False)   # no URL: e.g. kubernetes, never moot


def test_faults_on_a_dead_runs_own_helpers_close_as_moot_in_one_attempt(tmp_path, capsys, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"
    toxic = {"fault": "lag", "kind": "network.toxic",
             "data": {"url": dead, "proxy": "p", "toxic": "lag_downstream", "body": {}}}
    journal = _dead_run(tmp_path, "owned", [("shrink#0", _gpu_oom(dead), {"sandbox": [dead]}),
                                            ("lag#0", toxic, {"embedded-toxiproxy": [dead]})],
                        ["sandbox", "embedded-toxiproxy"])
    monkeypatch.setenv("BROWNOUT_HOME", str(tmp_path))
    assert main(["recover"]) == 0
    out = capsys.readouterr().out
    assert f"fault 'shrink' (sandbox.gpu-oom) moot, closed: its target (sandbox) died with run {journal.run_id}" in out
    assert "fault 'lag' (network.toxic) moot, closed" in out
    assert f"{journal.run_id}: sandbox already gone (it died with its run)" in out
    attempts = [e for e in map(json.loads, journal.path.read_text().splitlines()) if e["type"] == "fault_undo_failed"]
    assert len(attempts) == 2  # one attempt each, no retries against a dead API
    assert stale_journals(tmp_path) == []


def test_an_unreachable_fault_that_is_not_moot_stays_open_until_forgotten(tmp_path, capsys, monkeypatch):
    journal = _dead_run(tmp_path, "attached", [("shrink#0", _gpu_oom(f"http://127.0.0.1:{free_port()}"), {})])
    [report] = recover_stale(tmp_path, retries=1, backoff=0.01)
    assert not report.ok and report.undone[0].attempts == 2
    assert [s.run_id for s in stale_journals(tmp_path)] == [journal.run_id]
    with pytest.raises(JournalError, match="no journal for run 'nope'"):
        forget_run("nope", "tester", tmp_path)
    monkeypatch.setenv("BROWNOUT_HOME", str(tmp_path))
    assert main(["recover", "--forget", journal.run_id]) == 0
    out = capsys.readouterr().out
    assert "journal closed by hand by" in out and "fault 'shrink' (sandbox.gpu-oom)" in out
    forgotten = [e for e in map(json.loads, journal.path.read_text().splitlines()) if e["type"] == "forgotten"]
    assert forgotten[0]["entries"] == ["shrink#0"] and "@" in forgotten[0]["by"]
    assert stale_journals(tmp_path) == [] and read_journal(journal.path).faults == []


def test_a_live_run_cannot_be_forgotten(tmp_path):
    live = Journal.create("live", {}, home=tmp_path)
    live.fault_intent("x#0", _gpu_oom("http://127.0.0.1:1"))
    with pytest.raises(JournalError, match="is still running"):
        forget_run(live.run_id, "tester", tmp_path)
    live.close()


def test_the_start_budget_leaves_stale_journals_for_later(tmp_path):
    for i in range(3):
        _dead_run(tmp_path, f"old{i}", [("shrink#0", _gpu_oom(f"http://127.0.0.1:{free_port()}"), {})])
    reports = recover_stale(tmp_path, retries=0, budget=0.0)
    assert [r.skipped for r in reports] == [True, True, True] and not any(r.ok for r in reports)
    assert len(stale_journals(tmp_path)) == 3  # reported and left, never waited on
