import json
import os
import subprocess
import sys

from brownout.experiments.journal import Journal, read_journal, stale_journals


def test_replay_keeps_only_what_is_still_open(tmp_path):
    journal = Journal.create("demo", {"metadata": {"name": "demo"}}, home=tmp_path)
    journal.fault_intent("a#0", {"fault": "a", "kind": "k", "data": {}})
    journal.fault_applied("a#0", {})
    journal.fault_intent("b#0", {"fault": "b", "kind": "k", "data": {}})  # never applied: still undone on recover
    journal.fault_intent("c#0", {"fault": "c", "kind": "k", "data": {}})
    journal.fault_applied("c#0", {})
    journal.fault_undone("c#0", {})
    journal.fault_undo_failed("a#0", 1, "boom")
    journal.process_started("sandbox", [123], {"kind": "pids"})
    journal.close()
    state = read_journal(journal.path)
    assert [(f.id, f.applied, f.failures) for f in state.faults] == [("a#0", True, ["boom"]), ("b#0", False, [])]
    assert [p.name for p in state.processes] == ["sandbox"]
    assert state.owner_pid == os.getpid() and not state.finished


def test_torn_last_line_is_ignored(tmp_path):
    journal = Journal.create("demo", {}, home=tmp_path)
    journal.fault_intent("a#0", {"fault": "a", "kind": "k", "data": {}})
    journal.close()
    with journal.path.open("a") as fh:
        fh.write('{"type": "fault_undone", "id": "a#')
    assert [f.id for f in read_journal(journal.path).faults] == ["a#0"]


def test_stale_means_open_work_and_a_dead_owner(tmp_path):
    live = Journal.create("live", {}, home=tmp_path)
    live.fault_intent("x#0", {"fault": "x", "kind": "k", "data": {}})
    code = (
        "import sys; from pathlib import Path; from brownout.experiments.journal import Journal;"
        "j = Journal.create('dead', {}, home=Path(sys.argv[1]));"
        "j.fault_intent('y#0', {'fault': 'y', 'kind': 'k', 'data': {}})"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    stale = stale_journals(tmp_path)
    assert [s.experiment for s in stale] == ["dead"]
    live.finish("passed")
    assert sorted(s.experiment for s in stale_journals(tmp_path)) == ["dead", "live"]


def test_entries_are_json_lines_with_time_and_type(tmp_path):
    journal = Journal.create("demo", {"a": 1}, home=tmp_path)
    journal.finish("passed")
    entries = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [e["type"] for e in entries] == ["run_started", "run_finished"]
    assert entries[0]["spec"] == {"a": 1} and all("t" in e for e in entries)


def _rewrite_first_entry(path, **changes):
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first.update(changes)
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")


def test_a_live_pid_with_another_start_time_is_a_dead_owner(tmp_path):
    journal = Journal.create("reused", {}, home=tmp_path)
    journal.fault_intent("x#0", {"fault": "x", "kind": "k", "data": {}})
    journal.close()
    assert stale_journals(tmp_path) == []  # our own pid, our own start time: alive
    _rewrite_first_entry(journal.path, pid_start=1)  # same pid, another process's start time: pid reused
    assert [s.experiment for s in stale_journals(tmp_path)] == ["reused"]


def test_journals_of_another_host_are_left_alone(tmp_path):
    journal = Journal.create("elsewhere", {}, home=tmp_path)
    journal.fault_intent("x#0", {"fault": "x", "kind": "k", "data": {}})
    journal.close()
    _rewrite_first_entry(journal.path, host="some-other-host", pid=999999999)
    state = read_journal(journal.path)
    assert state.foreign and not state.owner_alive
    assert stale_journals(tmp_path) == []


def test_applied_handle_replaces_the_intent(tmp_path):
    journal = Journal.create("flood", {}, home=tmp_path)
    journal.fault_intent("f#0", {"fault": "f", "kind": "k", "data": {"pid": None}})
    journal.fault_applied("f#0", {}, {"fault": "f", "kind": "k", "data": {"pid": 1234}})
    journal.close()
    assert read_journal(journal.path).faults[0].handle["data"]["pid"] == 1234
