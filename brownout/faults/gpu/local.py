"""The hog as a child process of this machine: check the backend, start it, wait until it holds memory.

The child dies with the thread that started it (PR_SET_PDEATHSIG) and with this
process (`die_with_parent`), and frees its memory after its TTL in any case, so a
SIGKILLed harness leaves nothing held. Rollback needs only the state file path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from brownout.errors import InjectError, RollbackError
from brownout.faults.gpu import hog
from brownout.processes import pdeathsig

__all__ = ["check_backend", "start_hog", "stop_hog"]

_MODULE = ["-P", "-m", "brownout.faults.gpu.hog"]  # -P: brownout from its installation, never the cwd


def _error_text(stderr: str, code: int | None) -> str:
    return stderr.strip().splitlines()[-1] if stderr.strip() else f"hog exited with status {code}"


def check_backend(backend: str, device: str, timeout: float) -> dict[str, Any]:
    """Which backend the hog would use here and its memory (`--check`); allocates nothing.

    Raises InjectError naming what is missing (torch, cupy, a CUDA device).
    """
    argv = [sys.executable, *_MODULE, "--check", "--backend", backend, "--device", device]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InjectError(f"GPU backend check did not finish within {timeout:g}s") from exc
    if done.returncode != 0:
        raise InjectError(f"cannot hold GPU memory on this machine: {_error_text(done.stderr, done.returncode)}")
    return json.loads(done.stdout)


def _read_state(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def start_hog(hog_args: list[str], state_file: str, timeout: float) -> dict[str, Any]:
    """Start the hog and wait until its state file says it holds the memory; its state is returned.

    On failure or timeout the child is stopped before InjectError is raised.
    """
    argv = [sys.executable, *_MODULE, *hog_args, "--with-parent", str(os.getpid())]
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=pdeathsig,  # noqa: PLW1509 - one prctl, no locks
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _read_state(state_file)
        if state is not None and state.get("ready"):
            process.stderr.close()  # type: ignore[union-attr] - the hog writes there only when it fails
            return state
        if process.poll() is not None:
            raise InjectError(f"GPU memory hog failed: {_error_text(process.stderr.read(), process.returncode)}")  # type: ignore[union-attr]
        time.sleep(0.05)
    hog.stop(state_file)
    process.kill()
    process.wait(5)
    raise InjectError(f"GPU memory hog did not hold its memory within {timeout:g}s")


def stop_hog(state_file: str) -> dict[str, Any]:
    """Stop the hog of `state_file` (idempotent) and reap it when it is our child."""
    try:
        result = hog.stop(state_file)
    except hog.HogError as exc:
        raise RollbackError(f"GPU memory hog: {exc}") from exc
    if "pid" in result:
        try:
            os.waitpid(result["pid"], os.WNOHANG)
        except ChildProcessError:
            pass
    return result
