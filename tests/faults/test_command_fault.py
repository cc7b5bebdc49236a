"""`command` faults: argv without a shell unless asked, env and cwd, timeouts, output in the fault log."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from brownout.errors import InjectError, RollbackError
from brownout.spec.faults.command import CommandFault
from brownout.faults.base import FaultContext, FaultHandle
from brownout.faults.command import CommandDriver

PY = sys.executable


def driver(tmp_path: Path, **steps) -> CommandDriver:
    spec = CommandFault.model_validate({"kind": "command", "name": "stop-b", **steps})
    return CommandDriver(spec, FaultContext(base_dir=str(tmp_path), log_dir=str(tmp_path / "faults")))


def test_inject_check_and_rollback_run_with_their_env_and_cwd(tmp_path: Path):
    (tmp_path / "stack").mkdir()
    flag = "import os, pathlib; pathlib.Path('down').write_text(os.environ['WHAT']); print('stopped', os.environ['WHAT'])"
    fault = driver(
        tmp_path,
        inject={"run": [PY, "-c", flag, "$HOME"], "env": {"WHAT": "model-b"}, "cwd": "stack"},
        check={"run": "test -f down && echo '$HOME is' $HOME", "shell": True, "cwd": "stack"},
        rollback={"run": [PY, "-c", "import pathlib; pathlib.Path('down').unlink(missing_ok=True); print('started')"],
                  "cwd": "stack"},
    )
    printed = [t.detail["run"] for t in fault.resolve().targets]
    assert printed[0].startswith(PY) and printed[1].startswith("sh -c ") and "unlink" in printed[2]
    handle = fault.prepare()
    detail = fault.inject(handle)
    assert (tmp_path / "stack" / "down").read_text() == "model-b"
    assert detail["inject"]["output"].strip() == "stopped model-b"
    assert detail["check"]["output"].strip().startswith("$HOME is /")  # the shell expanded only where asked
    from_journal = FaultHandle.from_dict(json.loads(json.dumps(handle.to_dict())))
    assert CommandDriver.rollback(from_journal)["rollback"]["output"].strip() == "started"
    assert not (tmp_path / "stack" / "down").exists()
    CommandDriver.rollback(from_journal)  # a rollback runs again safely
    log = (tmp_path / "faults" / "stop-b.log").read_text()
    assert log.count("=== exit 0") == 4 and "stopped model-b" in log and "inject:" in log and "rollback:" in log


def test_failures_and_timeouts_are_errors_with_the_output(tmp_path: Path):
    fault = driver(tmp_path, inject={"run": [PY, "-c", "print('no such service'); raise SystemExit(3)"]},
                   rollback={"run": ["false"]})
    with pytest.raises(InjectError, match=r"exited 3.*no such service"):
        fault.inject(fault.prepare())
    with pytest.raises(RollbackError, match="exited 1"):
        CommandDriver.rollback(fault.prepare())
    fault = driver(tmp_path, inject={"run": ["true"]}, check={"run": ["false"]}, rollback={"run": ["true"]})
    with pytest.raises(InjectError, match="check `false` exited 1"):
        fault.inject(fault.prepare())
    slow = driver(tmp_path, inject={"run": f"echo hanging; {PY} -c 'import time; time.sleep(30)'; echo never",
                                    "shell": True, "timeout": 0.5}, rollback={"run": ["true"]})
    started = time.monotonic()
    with pytest.raises(InjectError, match="past its 0.5s timeout.*hanging"):
        slow.inject(slow.prepare())
    assert time.monotonic() - started < 20
    missing = driver(tmp_path, inject={"run": ["/nonexistent/brownout-tool"]}, rollback={"run": ["true"]})
    with pytest.raises(InjectError, match="could not start"):
        missing.inject(missing.prepare())


@pytest.mark.parametrize(("step", "message"), [
    ({"run": "docker compose stop b"}, "run is an argv list"),
    ({"run": ["docker", "compose"], "shell": True}, "with shell: true, run is one string"),
    ({"run": []}, "run is empty"),
])
def test_a_shell_runs_only_when_asked(step, message):
    with pytest.raises(ValidationError, match=message):
        CommandFault.model_validate({"kind": "command", "name": "c", "inject": step, "rollback": {"run": ["true"]}})
