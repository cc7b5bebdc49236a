"""A process that holds GPU memory (or, for tests, host memory) until it is stopped or its TTL ends.

Runs locally as `python -m brownout.faults.gpu.hog ...`, and is shipped verbatim as
`python -c <this source> ...` into a pod where brownout is not installed: so it
imports only the standard library at module level (torch or cupy lazily), and
keeps its own tiny /proc checks instead of `brownout.processes`.

Protocol:
- `--bytes N` or `--fraction F` (of the device's total memory) is allocated and every
  page touched; `--state-file` gets `{"pid", "ready", "bytes", "backend", "device",
  "free", "total"}` (atomic rename), first with ready false, then true once held.
- SIGTERM/SIGINT or `--ttl` seconds free the memory and end the process, which
  removes its state file. The TTL bounds a hog whose harness died without rollback.
- Failures go to stderr as one line, exit 3 (no backend, naming what is missing)
  or 4 (allocation failed).
- `--daemon` forks into a new session and returns once the hog holds the memory,
  printing the state JSON (how an exec into a pod comes back while the hog stays).
- `--stop STATE_FILE` stops the hog named there (idempotent; checks the pid still
  runs that state file, so a reused pid is never killed) and prints JSON.
- `--check` prints which backend would be used and its memory, allocating nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable

__all__ = ["BACKENDS", "EXIT_ALLOC", "EXIT_NO_BACKEND", "HogError", "main", "stop"]

BACKENDS = ("auto", "torch", "cupy", "host")
EXIT_NO_BACKEND = 3
EXIT_ALLOC = 4

Backend = tuple[Callable[[int], object], int, int]   # (allocate(size) -> buffer, free bytes, total bytes)


class HogError(Exception):
    """A reason to exit with `code`: what is missing, or why the allocation failed."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _index(device: str) -> int:
    head, _, tail = device.partition(":")
    if head != "cuda" or (tail and not tail.isdigit()):
        raise HogError(EXIT_NO_BACKEND, f"device '{device}' is not cuda or cuda:N")
    return int(tail or 0)


def _torch(device: str) -> Backend:
    try:
        import torch
    except ImportError as exc:
        raise HogError(EXIT_NO_BACKEND, f"torch not importable ({exc})") from None
    if not torch.cuda.is_available():
        raise HogError(EXIT_NO_BACKEND, "torch is installed but sees no CUDA device")
    index = _index(device)
    if index >= torch.cuda.device_count():
        raise HogError(EXIT_NO_BACKEND, f"no CUDA device {device} (torch sees {torch.cuda.device_count()})")
    free, total = torch.cuda.mem_get_info(index)

    def allocate(size: int) -> object:
        buffer = torch.empty(size, dtype=torch.uint8, device=f"cuda:{index}")
        buffer.fill_(1)
        torch.cuda.synchronize(index)
        return buffer

    return allocate, free, total


def _cupy(device: str) -> Backend:
    try:
        import cupy
    except ImportError as exc:
        raise HogError(EXIT_NO_BACKEND, f"cupy not importable ({exc})") from None
    index = _index(device)
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - CUDARuntimeError when there is no driver
        raise HogError(EXIT_NO_BACKEND, f"cupy sees no CUDA device ({exc})") from None
    if index >= count:
        raise HogError(EXIT_NO_BACKEND, f"no CUDA device {device} (cupy sees {count})")
    with cupy.cuda.Device(index):
        free, total = cupy.cuda.runtime.memGetInfo()

    def allocate(size: int) -> object:
        with cupy.cuda.Device(index) as dev:
            buffer = cupy.empty(size, dtype=cupy.uint8)
            buffer.fill(1)
            dev.synchronize()
        return buffer

    return allocate, free, total


def _host(device: str) -> Backend:
    """Host memory stands in for GPU memory where there is no GPU (tests): same lifecycle, visible in RSS."""
    meminfo = {}
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            meminfo[key] = int(rest.split()[0]) * 1024
    page = os.sysconf("SC_PAGE_SIZE")

    def allocate(size: int) -> bytearray:
        buffer = bytearray(size)
        buffer[::page] = b"\x01" * len(range(0, size, page))   # touch every page: resident, not just reserved
        return buffer

    return allocate, meminfo.get("MemAvailable", 0), meminfo["MemTotal"]


def _backend(name: str, device: str) -> tuple[str, Callable[[int], object], int, int]:
    """(backend used, allocate, free bytes, total bytes); `auto` tries torch, then cupy."""
    if name == "host":
        return ("host", *_host(device))
    tries = ["torch", "cupy"] if name == "auto" else [name]
    missing = []
    for candidate in tries:
        try:
            return (candidate, *(_torch if candidate == "torch" else _cupy)(device))
        except HogError as exc:
            if exc.code != EXIT_NO_BACKEND:
                raise
            missing.append(str(exc))
    raise HogError(EXIT_NO_BACKEND, "no GPU backend: " + "; ".join(missing))


def _write_state(path: str, state: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.replace(tmp, path)


def _runs(pid: int, state_file: str) -> bool:
    """True when `pid` is a live (non-zombie) process whose command line names `state_file`."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read().split(b"\0")
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            zombie = fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
    return not zombie and state_file.encode() in cmdline


def stop(state_file: str, grace: float = 5.0) -> dict:
    """Stop the hog recorded in `state_file`: SIGTERM, SIGKILL after `grace`. Idempotent."""
    try:
        with open(state_file, encoding="utf-8") as fh:
            pid = int(json.load(fh)["pid"])
    except FileNotFoundError:
        return {"stopped": False, "reason": "no hog running (state file gone)"}
    except (ValueError, KeyError, TypeError):
        os.remove(state_file)
        return {"stopped": False, "reason": "unreadable state file removed"}
    if not _runs(pid, state_file):
        _remove(state_file)
        return {"stopped": False, "pid": pid, "reason": "hog already gone"}
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _runs(pid, state_file):
            time.sleep(0.02)
        if not _runs(pid, state_file):
            break
    _remove(state_file)
    if _runs(pid, state_file):
        raise HogError(1, f"hog pid {pid} survived SIGKILL")
    return {"stopped": True, "pid": pid, "signal": sig.name}


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _hold(args: argparse.Namespace, report: Callable[[dict], None]) -> int:
    """Allocate, publish the state, wait for a signal or the TTL. Returns the exit code."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    if args.with_parent:
        from brownout.processes import (
            die_with_parent,  # local runs only: brownout is not in pods
        )
        die_with_parent(args.with_parent)
    state = {"pid": os.getpid(), "ready": False, "device": args.device}
    try:
        _write_state(args.state_file, state)
        backend, allocate, free, total = _backend(args.backend, args.device)
        size = args.bytes if args.bytes is not None else int(args.fraction * total)
        try:
            buffer = allocate(size)
        except Exception as exc:  # noqa: BLE001 - MemoryError, torch's and cupy's own OOM classes
            raise HogError(EXIT_ALLOC, f"cannot allocate {size} bytes with {backend} on {args.device} "
                                       f"({free} of {total} bytes free): {exc}") from None
        state.update(ready=True, bytes=size, backend=backend, free=free, total=total)
        _write_state(args.state_file, state)
        report(state)
        signal.sigtimedwait({signal.SIGTERM, signal.SIGINT}, args.ttl)
        del buffer
        return 0
    except HogError as exc:
        report({"error": str(exc), "code": exc.code})
        return exc.code
    finally:
        _remove(args.state_file)


def _daemon(args: argparse.Namespace) -> int:
    """Fork a hog in its own session; relay its state (or error) and exit with its verdict."""
    read_end, write_end = os.pipe()
    if os.fork():
        os.close(write_end)
        with os.fdopen(read_end, "r", encoding="utf-8") as pipe:
            line = pipe.readline().strip()
        message = json.loads(line) if line else {"error": "hog exited before it was ready", "code": EXIT_ALLOC}
        if "error" not in message:
            print(line, flush=True)
            return 0
        print(message["error"], file=sys.stderr, flush=True)
        return int(message["code"])
    os.close(read_end)
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    pipe = os.fdopen(write_end, "w", encoding="utf-8")

    def report(message: dict) -> None:
        pipe.write(json.dumps(message) + "\n")
        pipe.close()

    os._exit(_hold(args, report))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="brownout-gpu-hog", description="Hold GPU memory until stopped.")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--bytes", type=int, help="bytes to hold")
    amount.add_argument("--fraction", type=float, help="share of the device's total memory to hold")
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--state-file", help="where the pid and readiness are published")
    parser.add_argument("--ttl", type=float, default=3600.0, help="seconds after which the hog frees and exits")
    parser.add_argument("--with-parent", type=int, default=0, help="die when this parent pid dies (local runs)")
    parser.add_argument("--daemon", action="store_true", help="detach once the memory is held")
    parser.add_argument("--stop", metavar="STATE_FILE", help="stop the hog of this state file and exit")
    parser.add_argument("--check", action="store_true", help="print the backend and its memory; allocate nothing")
    args = parser.parse_args(argv)
    if not (args.stop or args.check) and (args.state_file is None or (args.bytes is None and args.fraction is None)):
        parser.error("--state-file and one of --bytes or --fraction are required")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.stop:
        try:
            print(json.dumps(stop(args.stop)), flush=True)
            return 0
        except HogError as exc:
            print(str(exc), file=sys.stderr, flush=True)
            return exc.code
    if args.check:
        try:
            backend, _, free, total = _backend(args.backend, args.device)
        except HogError as exc:
            print(str(exc), file=sys.stderr, flush=True)
            return exc.code
        print(json.dumps({"backend": backend, "device": args.device, "free": free, "total": total}), flush=True)
        return 0
    if args.daemon:
        return _daemon(args)

    def report(message: dict) -> None:
        if "error" in message:
            print(message["error"], file=sys.stderr, flush=True)

    return _hold(args, report)


if __name__ == "__main__":
    sys.exit(main())
