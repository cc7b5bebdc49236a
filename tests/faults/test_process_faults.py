"""process.kill / process.pause / process.signal against real local processes, and every safety rail.

Each rail test shows the refusal (the rule named) and, from the target's own record or
its kernel state, that nothing was signalled.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from brownout.errors import RefusedError, RollbackError
from brownout.spec.faults.process import ProcessKill, ProcessPause, ProcessSignal
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.process import ProcessKillDriver, ProcessPauseDriver, ProcessSignalDriver
from tests.e2e.conftest import wait_for
from tests.faults.process_support import process_state, targets

NOBODY = 65534


def pause(select: dict, tmp_path: Path) -> ProcessPauseDriver:
    spec = ProcessPause.model_validate({"kind": "process.pause", "name": "hang", "select": select})
    return ProcessPauseDriver(spec, FaultContext(base_dir=str(tmp_path), log_dir=str(tmp_path / "faults")))


def usr1(select: dict, tmp_path: Path) -> ProcessSignalDriver:
    spec = ProcessSignal.model_validate({"kind": "process.signal", "name": "poke", "select": select, "signal": "USR1"})
    return ProcessSignalDriver(spec, FaultContext(base_dir=str(tmp_path)))


def journaled(handle: FaultHandle) -> FaultHandle:
    """The handle as `brownout recover` reads it back from the journal."""
    return FaultHandle.from_dict(json.loads(json.dumps(handle.to_dict())))


def test_each_selector_finds_the_process_and_pause_holds_it_until_sigcont(tmp_path: Path):
    with targets(tmp_path, 2) as (one, other):
        by = {
            "pid_file": pause({"pid_file": "target-0/pid"}, tmp_path),
            "cmdline": pause({"cmdline": rf"{one.folder} {one.marker}$"}, tmp_path),
            "port": pause({"port": one.port}, tmp_path),
        }
        for name, driver in by.items():
            resolution = driver.resolve()
            assert [t.name for t in resolution.targets] == [str(one.pid)], (name, resolution)
        driver = by["port"]
        handle = driver.prepare()
        detail = driver.inject(handle)
        assert detail["pids"] == [one.pid] and detail["signal"] == "SIGSTOP"
        assert wait_for(lambda: one.state() == "T", 5), one.state()
        assert other.state() != "T"
        undone = ProcessPauseDriver.rollback(journaled(handle))
        assert undone == {"resumed": [one.pid]}
        assert wait_for(lambda: one.state() in ("S", "R"), 5), one.state()
        assert ProcessPauseDriver.rollback(journaled(handle)) == {"resumed": [one.pid]}  # idempotent: SIGCONT again is harmless


def test_signal_is_delivered_and_kill_runs_its_restart_at_rollback(tmp_path: Path):
    with targets(tmp_path, 2) as (poked, killed):
        driver = usr1({"pid_file": str(poked.pid_file)}, tmp_path)
        driver.inject(driver.prepare())
        assert wait_for(lambda: poked.signals() == ["SIGUSR1"], 5), poked.signals()
        assert ProcessSignalDriver.rollback(driver.prepare()) == {}

        spec = ProcessKill.model_validate({
            "kind": "process.kill", "name": "model-b-down", "signal": "SIGTERM", "select": {"port": killed.port},
            "restart": {"run": [sys.executable, "-c", "import os; print('restarted in', os.getcwd(), os.environ['WHO'])"],
                        "env": {"WHO": "model-b"}, "cwd": "target-1"},
        })
        kill = ProcessKillDriver(spec, FaultContext(base_dir=str(tmp_path), log_dir=str(tmp_path / "faults")))
        assert "restart" in {t.name for t in kill.resolve().targets}
        handle = kill.prepare()
        kill.inject(handle)
        assert killed.process.wait(timeout=10) == 0 and killed.signals() == ["SIGTERM"]
        result = ProcessKillDriver.rollback(journaled(handle))
        assert result["restart"]["output"].strip() == f"restarted in {killed.folder} model-b"
        log = (tmp_path / "faults" / "model-b-down.log").read_text()
        assert "restarted in" in log and "exit 0" in log


def test_a_failing_restart_is_a_rollback_error_with_its_output(tmp_path: Path):
    with targets(tmp_path) as (target,):
        spec = ProcessKill.model_validate({"kind": "process.kill", "name": "k", "select": {"port": target.port},
                                           "restart": {"run": "echo no unit model-b >&2; exit 5", "shell": True}})
        kill = ProcessKillDriver(spec, FaultContext(base_dir=str(tmp_path), log_dir=str(tmp_path)))
        handle = kill.prepare()
        kill.inject(handle)
        assert target.process.wait(timeout=10) == -signal.SIGKILL
        with pytest.raises(RollbackError, match=r"exited 5.*no unit model-b"):
            ProcessKillDriver.rollback(handle)


def test_a_reused_pid_is_never_signalled(tmp_path: Path):
    with targets(tmp_path) as (target,):
        driver = usr1({"port": target.port}, tmp_path)
        handle = driver.prepare()
        handle.data["targets"][0]["start"] -= 1  # as if the picked process died and a stranger got its pid
        with pytest.raises(Exception, match="gone before it could be signalled"):
            driver.inject(handle)
        assert ProcessPauseDriver.rollback(handle) == {"resumed": []}
        assert target.signals() == [] and target.state() != "T"


# ----- safety rails ------------------------------------------------------------------------------
def refused(driver, rule: str) -> str:
    with pytest.raises(RefusedError) as info:
        driver.prepare()
    assert info.value.rule == rule, info.value
    with pytest.raises(RefusedError):
        driver.resolve()
    return str(info.value)


def test_rail_pid_1(tmp_path: Path):
    (tmp_path / "init.pid").write_text("1\n")
    state = process_state(1)
    assert "pid 1" in refused(pause({"pid_file": "init.pid"}, tmp_path), "process-pid-1")
    assert process_state(1) == state != "T"


def test_rail_brownout_itself_and_its_ancestors(tmp_path: Path):
    received: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: received.append(signum))
    try:
        (tmp_path / "self.pid").write_text(str(os.getpid()))
        assert str(os.getpid()) in refused(usr1({"pid_file": "self.pid"}, tmp_path), "process-brownout-itself")
        # A brownout started by this test process must refuse to signal it (its ancestor), and itself
        # when its own command line matches the selector.
        code = (
            "import json, sys\n"
            "from brownout.errors import RefusedError\n"
            "from brownout.spec.faults.process import ProcessSignal\n"
            "from brownout.faults.base import FaultContext\n"
            "from brownout.faults.process import ProcessSignalDriver\n"
            "for select in sys.argv[1:]:\n"
            "    spec = ProcessSignal.model_validate({'kind': 'process.signal', 'name': 'p', 'signal': 'USR1',"
            " 'select': json.loads(select)})\n"
            "    driver = ProcessSignalDriver(spec, FaultContext())\n"
            "    try:\n"
            "        driver.inject(driver.prepare()); print('SIGNALLED')\n"
            "    except RefusedError as exc:\n"
            "        print(exc.rule)\n"
        )
        selects = [{"pid_file": str(tmp_path / "self.pid")}, {"cmdline": f"ancestor-marker-{os.getpid()}"}]
        done = subprocess.run([sys.executable, "-c", code, *map(json.dumps, selects)], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.stdout.split() == ["process-brownout-itself"] * 2, done.stdout + done.stderr
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert received == []


def test_rail_matches_nothing(tmp_path: Path):
    message = refused(pause({"cmdline": "no-process-has-this-in-its-command-line-[0-9]{40}"}, tmp_path),
                      "process-matches-nothing")
    assert "no process found by command line matching" in message
    refused(pause({"pid_file": "missing.pid"}, tmp_path), "process-matches-nothing")


def test_rail_more_than_select_max(tmp_path: Path):
    with targets(tmp_path, 3) as group:
        marker = group[0].marker
        assert "matches 3 processes" in refused(pause({"cmdline": marker, "max": 2}, tmp_path), "process-max")
        assert all(t.state() != "T" for t in group)
        assert [t.name for t in usr1({"cmdline": marker, "max": 3}, tmp_path).resolve().targets] == \
            [str(t.pid) for t in group]


def test_rail_other_users(tmp_path: Path):
    root = Path(tempfile.mkdtemp(prefix="brownout-other-user-"))
    try:
        if os.geteuid() == 0:
            with targets(root, user=NOBODY) as (stranger,):
                assert "another user" in refused(pause({"port": stranger.port}, tmp_path), "process-other-user")
                assert stranger.state() != "T"
                driver = pause({"port": stranger.port, "allow_other_users": True}, tmp_path)
                assert [t.name for t in driver.resolve().targets] == [str(stranger.pid)]
        else:  # not root: any process of another user (root's init here) is refused the same way
            (root / "p.pid").write_text(str(next(p for p in map(int, filter(str.isdigit, os.listdir("/proc")))
                                                 if p != 1 and os.stat(f"/proc/{p}").st_uid != os.getuid())))
            refused(pause({"pid_file": str(root / "p.pid")}, tmp_path), "process-other-user")
    finally:
        shutil.rmtree(root, ignore_errors=True)
