"""Run a command in a pod's container through the exec API and collect its exit status and output.

The official client's `kubernetes.stream.stream` opens the websocket
(`v4.channel.k8s.io`: channel 1 stdout, 2 stderr, 3 the final Status); we wait a
bounded time for the command to end, then read the channels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kubernetes.stream import stream
from websocket import WebSocketException

from brownout.errors import BrownoutError
from brownout.faults.kubernetes.client import KubeApis

__all__ = ["ExecResult", "exec_in_pod"]


@dataclass(frozen=True)
class ExecResult:
    returncode: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The last stderr line: what the command said when it failed."""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else f"exit status {self.returncode}"


def _returncode(status_text: str) -> int:
    """Exit status from the error channel's Status object (`NonZeroExitCode` carries it in details)."""
    status = json.loads(status_text) if status_text else None
    if not isinstance(status, dict):
        status = {"message": "no exit status on the error channel"}
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    raise ValueError(f"exec failed: {status.get('message', status)}")


def exec_in_pod(apis: KubeApis, namespace: str, pod: str, container: str, command: list[str], timeout: float,
                error: type[BrownoutError]) -> ExecResult:
    """Run `command` to completion (at most `timeout` seconds); raise `error` when it cannot run or report."""
    where = f"exec in {namespace}/{pod} (container {container})"
    try:
        client = stream(
            apis.core.connect_get_namespaced_pod_exec, pod, namespace, command=command, container=container,
            stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False,
        )
    except Exception as exc:
        raise error(f"{where}: {getattr(exc, 'reason', None) or exc}") from exc
    try:
        client.run_forever(timeout=timeout)
        if client.is_open():
            raise error(f"{where}: command did not finish within {timeout:g}s")
        stdout, stderr = client.read_stdout() or "", client.read_stderr() or ""
        code = _returncode(client.read_channel(3))
    except (WebSocketException, OSError, ValueError) as exc:
        raise error(f"{where}: {exc}") from exc
    finally:
        client.close()
    return ExecResult(code, stdout, stderr)
